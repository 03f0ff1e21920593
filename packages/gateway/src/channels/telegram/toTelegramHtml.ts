const escapeHtml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * The Markdown the AI writes, as the HTML subset Telegram renders (`parse_mode: 'HTML'`): code
 * blocks and inline code, bold, italics, strikethrough, links, headings as bold lines. HTML is
 * used rather than MarkdownV2 because only `<`, `>` and `&` need escaping, so text the
 * conversion does not understand still arrives as written.
 */
export function toTelegramHtml(markdown: string): string {
  const out: string[] = [];
  const lines = markdown.split('\n');
  let code: string[] | null = null;
  let lang = '';
  for (const line of lines) {
    const fence = /^\s*```(\S*)\s*$/.exec(line);
    if (fence) {
      if (code === null) {
        code = [];
        lang = fence[1] ?? '';
      } else {
        const cls = lang ? ` class="language-${escapeHtml(lang)}"` : '';
        out.push(`<pre><code${cls}>${escapeHtml(code.join('\n'))}</code></pre>`);
        code = null;
      }
      continue;
    }
    if (code !== null) {
      code.push(line);
      continue;
    }
    const heading = /^#{1,6}\s+(.*)$/.exec(line);
    if (heading) {
      out.push(`<b>${inline(heading[1] ?? '')}</b>`);
      continue;
    }
    const bullet = /^(\s*)[-*]\s+(.*)$/.exec(line);
    out.push(bullet ? `${bullet[1]}• ${inline(bullet[2] ?? '')}` : inline(line));
  }
  if (code !== null) out.push(`<pre><code>${escapeHtml(code.join('\n'))}</code></pre>`);
  return out.join('\n');
}

/** One line: inline code first (nothing inside it is formatted), then the rest. */
function inline(line: string): string {
  return line
    .split(/(`[^`\n]+`)/)
    .map((part, i) =>
      i % 2 === 1 ? `<code>${escapeHtml(part.slice(1, -1))}</code>` : styles(escapeHtml(part)),
    )
    .join('');
}

function styles(s: string): string {
  return s
    .replace(
      /\[([^\]]+)\]\((https?:\/\/[^\s)]+)\)/g,
      (_m, text: string, url: string) => `<a href="${url.replace(/"/g, '&quot;')}">${text}</a>`,
    )
    .replace(/\*\*([^*\n]+)\*\*/g, '<b>$1</b>')
    .replace(/__([^_\n]+)__/g, '<b>$1</b>')
    .replace(/(^|[^*\w])\*([^*\s][^*\n]*?)\*(?=[^*\w]|$)/g, '$1<i>$2</i>')
    .replace(/(^|[^_\w])_([^_\s][^_\n]*?)_(?=[^_\w]|$)/g, '$1<i>$2</i>')
    .replace(/~~([^~\n]+)~~/g, '<s>$1</s>');
}
