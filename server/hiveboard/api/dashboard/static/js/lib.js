// The reactive layer every module renders with: Preact's `h` through htm's tagged templates
// (JSX-like markup without a build step), and Preact's hooks.
import { h, render } from "preact";
import htm from "htm";

export { render };
export { useState, useEffect, useMemo, useRef } from "preact/hooks";
export const html = htm.bind(h);
