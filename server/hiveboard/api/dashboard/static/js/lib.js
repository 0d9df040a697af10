// The reactive layer every module renders with: Preact's `h` through htm's tagged templates
// (JSX-like markup without a build step), and Preact's hooks.
import { h, render, Fragment } from "preact";
import htm from "htm";

export { h, render, Fragment };
export { useState, useEffect, useMemo, useRef, useCallback, useReducer } from "preact/hooks";
export const html = htm.bind(h);
