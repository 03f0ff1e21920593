// @ts-check
// A small Markdown renderer for the AI's answers: paragraphs, headings, lists, quotes, code
// blocks, `code`, **bold**, *italics* and http(s) links. It builds DOM nodes; the model's text
// never becomes markup. An unfinished code fence (while streaming) runs to the end.

import { h } from './dom.js';

export function renderMarkdown(text) {
  const out = document.createDocumentFragment();
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    const fence = /^\s*```\s*([\w+-]*)\s*$/.exec(line);
    if (fence) {
      const code = [];
      i++;
      while (i < lines.length && !/^\s*```\s*$/.test(lines[i])) code.push(lines[i++]);
      i++;
      out.append(h('pre', {}, h('code', { 'data-lang': fence[1] || null }, code.join('\n'))));
      continue;
    }
    if (!line.trim()) {
      i++;
      continue;
    }
    const heading = /^(#{1,6})\s+(.*)$/.exec(line);
    if (heading) {
      out.append(h(`h${Math.min(3, heading[1].length)}`, {}, inline(heading[2])));
      i++;
      continue;
    }
    const listItem = /^\s*([-*+]|\d+[.)])\s+/;
    if (listItem.test(line)) {
      const ordered = /^\s*\d/.test(line);
      const list = h(ordered ? 'ol' : 'ul');
      while (i < lines.length && listItem.test(lines[i])) {
        list.append(h('li', {}, inline(lines[i].replace(listItem, ''))));
        i++;
      }
      out.append(list);
      continue;
    }
    if (/^\s*>/.test(line)) {
      const quoted = [];
      while (i < lines.length && /^\s*>/.test(lines[i])) quoted.push(lines[i++].replace(/^\s*>\s?/, ''));
      out.append(h('blockquote', {}, renderMarkdown(quoted.join('\n'))));
      continue;
    }
    const paragraph = [];
    while (
      i < lines.length &&
      lines[i].trim() &&
      !/^\s*```/.test(lines[i]) &&
      !/^#{1,6}\s/.test(lines[i]) &&
      !listItem.test(lines[i])
    ) {
      paragraph.push(lines[i++]);
    }
    const p = h('p');
    paragraph.forEach((l, n) => {
      if (n) p.append(h('br'));
      p.append(inline(l));
    });
    out.append(p);
  }
  return out;
}

const INLINE =
  /(`[^`\n]+`)|(\*\*[^*\n]+\*\*|__[^_\n]+__)|(\*[^*\s][^*\n]*\*|_[^_\s][^_\n]*_)|\[([^\]\n]+)\]\((https?:\/\/[^\s)]+)\)/g;

function inline(text) {
  const out = document.createDocumentFragment();
  let last = 0;
  for (const m of text.matchAll(INLINE)) {
    out.append(text.slice(last, m.index));
    if (m[1]) out.append(h('code', {}, m[1].slice(1, -1)));
    else if (m[2]) out.append(h('strong', {}, inline(m[2].slice(2, -2))));
    else if (m[3]) out.append(h('em', {}, inline(m[3].slice(1, -1))));
    else out.append(h('a', { href: m[5], target: '_blank', rel: 'noopener noreferrer' }, m[4]));
    last = m.index + m[0].length;
  }
  out.append(text.slice(last));
  return out;
}
