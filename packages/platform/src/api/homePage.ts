/** A plain front page until the landing and signup pages arrive: what this is, how many run. */
export function homePage(counts: { total: number; running: number }): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Matrix OS</title><style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;color:#1d2330}
code{background:#eef0f5;padding:.1em .3em;border-radius:4px}</style></head><body>
<h1>Matrix OS</h1><p>A personal AI operating system for everyone on this server, each in their own instance.</p>
<p><strong>${counts.total}</strong> instances, <strong>${counts.running}</strong> awake right now.</p>
<p>Operators: the admin API is documented in <code>docs/api.md</code>; instances answer at <code>{handle}.{domain}</code>.</p>
</body></html>`;
}
