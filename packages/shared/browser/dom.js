// @ts-check
// Builds DOM from data: text always goes in as text nodes, never as markup.
// Served as /assets/dom.js by the platform and /shell/shared/dom.js by every instance.

/** @typedef {Node | string | number | null | undefined | false | any[]} Child */

/**
 * `h('button', { class: 'x', onclick }, 'Label')`: `class`, `dataset`, `value` and `on*`
 * (listeners) are set as such; `true` is an empty attribute; null, undefined and false are skipped.
 * @template {string} K
 * @param {K} tag
 * @param {Record<string, any>} [props]
 * @param {...Child} children
 * @returns {K extends keyof HTMLElementTagNameMap ? HTMLElementTagNameMap[K] : HTMLElement}
 */
export function h(tag, props = {}, ...children) {
  const el = /** @type {any} */ (document.createElement(tag));
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
    else if (key === 'value') /** @type {HTMLInputElement} */ (el).value = value;
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

/**
 * @param {Element} el
 * @param {Child[]} children
 */
function append(el, children) {
  for (const child of /** @type {any[]} */ (children).flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
}
