/**
 * Where a waterfall bar's label (markers and duration) goes: after the bar when there is room on the right,
 * before it when the bar ends late, and inside its right end when it fills the track (a root span), since a
 * label before such a bar would spill over the span names.
 */

export interface BarLabelPlacement {
  style: { left?: string; right?: string; paddingRight?: number };
  inside: boolean;
}

const ROOM_AFTER_PCT = 75;
const ROOM_BEFORE_PCT = 15;

export function barLabelPlacement(leftPct: number, widthPct: number): BarLabelPlacement {
  const end = leftPct + widthPct;
  if (end <= ROOM_AFTER_PCT) return { style: { left: `${end}%` }, inside: false };
  if (leftPct >= ROOM_BEFORE_PCT) return { style: { right: `${100 - leftPct}%`, paddingRight: 4 }, inside: false };
  return { style: { right: `${Math.max(0, 100 - end)}%` }, inside: true };
}
