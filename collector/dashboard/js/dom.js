// Building the page: elements from data with text nodes only (never innerHTML), so an app name
// like `<script>` is shown as the text it is.

/**
 * An element: `h('td', {class: 'num', 'data-value': 3}, 'text', childNode)`. Attributes whose
 * value is a function are event listeners (`onclick`); `null`/`undefined`/`false` are skipped.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === null || v === undefined || v === false) continue;
    if (typeof v === 'function') el.addEventListener(k.replace(/^on/, ''), v);
    else if (k === 'value' && 'value' in el) el.value = String(v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Replaces an element's children. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** A `<select>` of `[value, label, disabled?]` options with `current` chosen. */
export function select(id, label, options, current, onchange) {
  const s = h('select', { id, name: id, onchange: (e) => onchange(e.target.value) },
    options.map(([v, text, disabled]) => h('option', { value: v, selected: v === current, disabled }, text)));
  return h('label', { for: id }, label, s);
}
