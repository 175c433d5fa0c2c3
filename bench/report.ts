/** The table `npm run bench` prints. */
export interface Row {
  scenario: string;
  path: string;
  figures: Record<string, number | string>;
  ratio?: string;
}

export function printTable(rows: Row[]): void {
  const lines = rows.map((r) => [r.scenario, r.path, Object.entries(r.figures).map(([k, v]) => `${k}=${v}`).join('  '), r.ratio ?? '']);
  const header = ['scenario', 'path', 'figures', 'vs direct'];
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const fmt = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  process.stdout.write(['', fmt(header), fmt(widths.map((w) => '-'.repeat(w))), ...lines.map(fmt)].join('\n') + '\n');
}
