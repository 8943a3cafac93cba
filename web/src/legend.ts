// The legend: what each kind of arrow and mark means (shape, line style and colour together); an
// arrow from "any pod" stands for the same ports from many pods (its details list them). With admin
// policies, the bands of the Admin and Baseline tiers and the casing of the arrows a tier decided.
import { COLORS } from './graph-style.js';

const line = (color: string, dash: string, head: string, width = 2.5): string =>
  `<svg width="34" height="14" aria-hidden="true"><line x1="2" y1="7" x2="24" y2="7" stroke="${color}" stroke-width="${width}" stroke-dasharray="${dash}"/>${head}</svg>`;
const triangle = (c: string): string => `<path d="M24 2l9 5-9 5z" fill="${c}"/>`;
const tee = (c: string): string => `<path d="M28 1v12" stroke="${c}" stroke-width="3"/>`;
const square = (c: string): string => `<rect x="25" y="3" width="8" height="8" fill="${c}"/>`;

/** The tiers' marks: the bands of admin (above) and baseline (below) policies, and the casing of an arrow a tier decided. */
function tierEntries(): string[] {
  const band = (stroke: string, fill: string, width: number): string =>
    `<svg width="26" height="16" aria-hidden="true"><rect x="2" y="2" width="22" height="12" rx="3" fill="${fill}" stroke="${stroke}" stroke-width="${width}"/></svg>`;
  const cased = (c: string): string =>
    `<svg width="34" height="14" aria-hidden="true"><line x1="2" y1="7" x2="24" y2="7" stroke="${c}" stroke-width="5"/><line x1="2" y1="7" x2="24" y2="7" stroke="${COLORS.allowed}" stroke-width="2"/>${triangle(COLORS.allowed)}</svg>`;
  return [
    `<span class="legend-tier">${band(COLORS.admin, '#f3f4f6', 2)} admin policy (above) ${band(COLORS.baseline, '#eef7fc', 3)} baseline (below)</span>`,
    `<span class="legend-tier">${cased(COLORS.admin)} decided by admin ${cased(COLORS.baseline)} by baseline</span>`,
  ];
}

export function legendHtml(tiers = false): string {
  return [
    `<span>${line(COLORS.allowed, '', triangle(COLORS.allowed))} allowed</span>`,
    `<span>${line(COLORS.denied, '6 4', tee(COLORS.denied))} denied</span>`,
    `<span>${line(COLORS.opened, '', triangle(COLORS.opened), 5)} opened by edit</span>`,
    `<span>${line(COLORS.closed, '2 3', square(COLORS.closed), 3)} closed by edit</span>`,
    `<span><svg width="22" height="16" aria-hidden="true"><rect x="2" y="2" width="18" height="12" rx="3" fill="#fff" stroke="${COLORS.unselected}" stroke-width="2" stroke-dasharray="3 2"/></svg> no policy</span>`,
    `<span><svg width="22" height="16" aria-hidden="true"><rect x="2" y="2" width="18" height="12" rx="3" fill="#fff" stroke="${COLORS.denied}" stroke-width="2.5"/></svg> open to outside</span>`,
    `<span><svg width="22" height="16" aria-hidden="true"><rect x="1.5" y="1.5" width="19" height="13" rx="3" fill="#f3f4f6" stroke="#6b7280" stroke-width="3" stroke-dasharray="none"/></svg> group</span>`,
    `<span><svg width="14" height="16" viewBox="0 0 18 24" aria-hidden="true"><path d="M9 0l9 3.5v8c0 6-4 10.5-9 12.5-5-2-9-6.5-9-12.5v-8z" fill="${COLORS.allowed}"/><path d="M4.5 11h9" stroke="#fff" stroke-width="2.4"/></svg> isolated (left: ingress, right: egress)</span>`,
    ...(tiers ? tierEntries() : []),
  ].join('');
}
