// The live stream (WS /v1/stream), authenticated by the session cookie like every request.
// `useStream` subscribes while a view is shown and reconnects with backoff when the socket drops.
import { useEffect, useRef, useState } from "./lib.js";
import { signInAgain } from "./api.js";

const CLOSE_UNAUTHENTICATED = 4401;
const MAX_BACKOFF_MS = 10000;

export function streamUrl() {
  return `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}/v1/stream`;
}

// Calls `onMessage(message)` for each `event.new` / `agent.*` message of the subscription
// `{channels, filters}`; returns the connection's state: "connecting", "live" or "offline".
export function useStream(subscription, onMessage) {
  const [state, setState] = useState("connecting");
  const handler = useRef(onMessage);
  handler.current = onMessage;
  const key = subscription ? JSON.stringify(subscription) : null;

  useEffect(() => {
    if (!key) return undefined;
    let socket = null;
    let closed = false;
    let backoff = 500;
    let timer = null;
    const open = () => {
      setState("connecting");
      socket = new WebSocket(streamUrl());
      socket.onopen = () => socket.send(JSON.stringify({ action: "subscribe", ...JSON.parse(key) }));
      socket.onmessage = (message) => {
        const data = JSON.parse(message.data);
        if (data.type === "subscribed") {
          backoff = 500;
          setState("live");
        } else if (data.type !== "error" && data.type !== "pong") {
          handler.current(data);
        }
      };
      socket.onclose = (event) => {
        if (closed) return;
        if (event.code === CLOSE_UNAUTHENTICATED) {
          signInAgain();
          return;
        }
        setState("offline");
        timer = setTimeout(open, backoff);
        backoff = Math.min(MAX_BACKOFF_MS, backoff * 2);
      };
    };
    open();
    return () => {
      closed = true;
      clearTimeout(timer);
      // Closing a socket still connecting makes the browser log an error: close it once open.
      if (socket?.readyState === WebSocket.CONNECTING) socket.onopen = () => socket.close();
      else socket?.close();
    };
  }, [key]);
  return state;
}
