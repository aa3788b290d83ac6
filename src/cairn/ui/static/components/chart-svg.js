// Small pieces shared by the SVG plots (scatter, parallel coordinates): the container's width,
// linear scales and short tick labels. SVG keeps every run a DOM element: hover, focus, links
// and escaped text come for free, and a few hundred runs are few enough elements.

import { useEffect, useState, formatValue } from "../lib.js";

/** The width of `ref`'s element in CSS pixels, following resizes. */
export function useElementWidth(ref, fallback = 600) {
  const [width, setWidth] = useState(fallback);
  useEffect(() => {
    if (!ref.current) return undefined;
    const observer = new ResizeObserver((entries) => {
      const w = Math.floor(entries[0].contentRect.width);
      if (w > 0) setWidth(w);
    });
    observer.observe(ref.current);
    return () => observer.disconnect();
  }, [ref.current]); // eslint-disable-line
  return width;
}

/** A function mapping [d0, d1] onto [r0, r1] (the middle of the range when d0 === d1). */
export function linearScale([d0, d1], [r0, r1]) {
  if (!(d1 > d0)) return () => (r0 + r1) / 2;
  const k = (r1 - r0) / (d1 - d0);
  return (v) => r0 + (v - d0) * k;
}

/** [min, max] of numbers (null when there are none). */
export function extentOf(values) {
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    if (v === null || v === undefined || !Number.isFinite(v)) continue;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return min <= max ? [min, max] : null;
}

/** A tick label short enough for an axis. */
export function tickLabel(v) {
  if (typeof v !== "number") return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e6 || a < 1e-3)) return v.toExponential(1);
  return formatValue(Number(v.toPrecision(4)));
}

/** `text` cut to about `max` characters (the full text goes in a <title>). */
export function clip(text, max) {
  const s = String(text);
  return s.length > max ? s.slice(0, Math.max(1, max - 1)) + "…" : s;
}
