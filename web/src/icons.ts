// Pictures for nodes: an icon for the role a pod's labels make obvious (web, api, db, cache,
// queue), and shields on the isolated sides: left for ingress (traffic comes in from the left),
// right for egress. One SVG per node, as a data URI Cytoscape draws and exports.
export type Role = 'web' | 'api' | 'db' | 'cache' | 'queue' | 'dns' | 'pod' | 'outside';

const ROLE_WORDS: [Role, RegExp][] = [
  ['db', /(^|[-_.])(db|database|mysql|mariadb|postgres(ql)?|pg|mongo(db)?|sql|cassandra|elastic(search)?|etcd)([-_.]|$)/],
  ['cache', /(^|[-_.])(cache|redis|memcached?|valkey)([-_.]|$)/],
  ['queue', /(^|[-_.])(queue|mq|kafka|rabbit(mq)?|nats|amqp|broker|pubsub)([-_.]|$)/],
  ['dns', /(^|[-_.])(dns|kube-dns|coredns)([-_.]|$)/],
  ['web', /(^|[-_.])(web|www|frontend|front|ui|nginx|ingress|gateway|http|site)([-_.]|$)/],
  ['api', /(^|[-_.])(api|backend|server|service|svc|app|worker)([-_.]|$)/],
];
const ROLE_KEYS = ['role', 'tier', 'app.kubernetes.io/component', 'component', 'app', 'app.kubernetes.io/name', 'name', 'k8s-app'];

/** The role a reader would guess from the labels (then the name); `pod` when nothing is obvious. */
export function roleOf(labels: Readonly<Record<string, string>>, name: string): Role {
  const texts = [...ROLE_KEYS.map((k) => labels[k]).filter((v): v is string => v !== undefined), name].map((t) => t.toLowerCase());
  for (const text of texts) for (const [role, re] of ROLE_WORDS) if (re.test(text)) return role;
  return 'pod';
}

const INK = '#1f2937';
const GLYPHS: Record<Role, string> = {
  web: `<circle cx="32" cy="30" r="15" fill="none" stroke="${INK}" stroke-width="2.5"/><ellipse cx="32" cy="30" rx="6.5" ry="15" fill="none" stroke="${INK}" stroke-width="2"/><path d="M17 30h30M19 22h26M19 38h26" stroke="${INK}" stroke-width="2"/>`,
  api: `<text x="32" y="38" text-anchor="middle" font-family="monospace" font-size="22" font-weight="700" fill="${INK}">{ }</text>`,
  db: `<ellipse cx="32" cy="18" rx="13" ry="5" fill="#e5e7eb" stroke="${INK}" stroke-width="2.5"/><path d="M19 18v24c0 2.8 5.8 5 13 5s13-2.2 13-5V18" fill="#e5e7eb" stroke="${INK}" stroke-width="2.5"/><path d="M19 26c0 2.8 5.8 5 13 5s13-2.2 13-5M19 34c0 2.8 5.8 5 13 5s13-2.2 13-5" fill="none" stroke="${INK}" stroke-width="2"/>`,
  cache: `<path d="M35 13L22 33h9l-3 16 14-21h-9z" fill="#fde68a" stroke="${INK}" stroke-width="2.2" stroke-linejoin="round"/>`,
  queue: `<rect x="17" y="16" width="30" height="7" rx="2" fill="#e5e7eb" stroke="${INK}" stroke-width="2"/><rect x="17" y="27" width="30" height="7" rx="2" fill="#e5e7eb" stroke="${INK}" stroke-width="2"/><rect x="17" y="38" width="30" height="7" rx="2" fill="#e5e7eb" stroke="${INK}" stroke-width="2"/>`,
  dns: `<text x="32" y="37" text-anchor="middle" font-family="sans-serif" font-size="15" font-weight="700" fill="${INK}">DNS</text>`,
  pod: `<path d="M32 14l14 8v16l-14 8-14-8V22z" fill="#e5e7eb" stroke="${INK}" stroke-width="2.5" stroke-linejoin="round"/><path d="M18 22l14 8 14-8M32 30v16" fill="none" stroke="${INK}" stroke-width="2"/>`,
  outside: `<path d="M20 40a8 8 0 0 1 1-16 11 11 0 0 1 21-3 8 8 0 0 1 3 16z" fill="#e5e7eb" stroke="${INK}" stroke-width="2.5" stroke-linejoin="round"/>`,
};

/** A shield with a bar across: "isolated on this side"; drawn at x (its left edge). */
function shield(x: number): string {
  return `<g transform="translate(${x} 17)"><path d="M9 0l9 3.5v8c0 6-4 10.5-9 12.5-5-2-9-6.5-9-12.5v-8z" fill="#0072B2" stroke="#ffffff" stroke-width="1.2"/><path d="M4.5 11h9" stroke="#ffffff" stroke-width="2.4" stroke-linecap="round"/></g>`;
}

export function nodeImage(role: Role, isolation: { ingress: boolean; egress: boolean }): string {
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="100" height="60" viewBox="-18 0 100 60">` +
    `<g transform="translate(0 0)">${GLYPHS[role]}</g>` +
    (isolation.ingress ? shield(-16) : '') +
    (isolation.egress ? shield(62) : '') +
    `</svg>`;
  return `data:image/svg+xml;utf8,${encodeURIComponent(svg)}`;
}
