/** A markdown table: `align` per column, 'l' or 'r'. */
export function table(headers: string[], rows: string[][], align: string = 'l' + 'r'.repeat(headers.length - 1)): string {
  const rule = headers.map((_, i) => (align[i] === 'r' ? '---:' : '---'));
  return [headers, rule, ...rows].map((cells) => `| ${cells.join(' | ')} |`).join('\n');
}
