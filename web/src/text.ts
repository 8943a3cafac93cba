// Long names in narrow panels: ids and field paths may wrap after `/`, `.`, `-` and `=` (a <wbr>
// there), never in the middle of a word.
/** The text with a line-break opportunity after each `/`, `.`, `-`, `_`, `=` and `,` that sits between two characters. */
export function breakableId(text: string): DocumentFragment {
  const out = document.createDocumentFragment();
  for (const part of text.split(/(?<=[/.\-_=,])(?=\S)/)) {
    if (out.childNodes.length > 0) out.append(document.createElement('wbr'));
    out.append(part);
  }
  return out;
}
