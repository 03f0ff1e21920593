import { describe, expect, it } from 'vitest';
import { toTelegramHtml } from './toTelegramHtml.ts';

describe('toTelegramHtml', () => {
  it.each([
    ['plain text, escaped', 'a < b && c > d', 'a &lt; b &amp;&amp; c &gt; d'],
    ['bold', 'this is **big**', 'this is <b>big</b>'],
    ['italics', 'an *aside* here', 'an <i>aside</i> here'],
    ['a product, not italics', '2*3*4', '2*3*4'],
    ['inline code is not formatted inside', 'run `a **b** <c>`', 'run <code>a **b** &lt;c&gt;</code>'],
    ['links', 'see [docs](https://example.org/a?b=1)', 'see <a href="https://example.org/a?b=1">docs</a>'],
    ['no javascript: links', '[x](javascript:alert(1))', '[x](javascript:alert(1))'],
    ['headings become bold lines', '## Plan', '<b>Plan</b>'],
    ['bullets', '- one\n- two', '• one\n• two'],
    [
      'code blocks',
      '```js\nif (a < b) {}\n```',
      '<pre><code class="language-js">if (a &lt; b) {}</code></pre>',
    ],
    ['an unclosed block still closes', '```\nx', '<pre><code>x</code></pre>'],
    ['strikethrough', '~~gone~~', '<s>gone</s>'],
  ])('%s', (_name, markdown, html) => {
    expect(toTelegramHtml(markdown)).toBe(html);
  });
});
