"""Browser-side measure of every chart's text, shared by the tests of the pages that draw charts."""

# Per chart: the smallest rendered text (font size times the SVG's scale), overlapping text pairs, texts outside.
CHART_TEXT = """() => [...document.querySelectorAll('svg.chart')]
  .filter(s => s.getBoundingClientRect().width > 0).map(s => {
  const texts = [...s.querySelectorAll('text')].filter(t => t.getBoundingClientRect().height > 0);
  const scale = s.getScreenCTM().a;
  const boxes = texts.map(t => t.getBoundingClientRect());
  const frame = s.getBoundingClientRect();
  const overlaps = [];
  for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
    const a = boxes[i], b = boxes[j];
    if (a.left < b.right - 1 && b.left < a.right - 1 && a.top < b.bottom - 1 && b.top < a.bottom - 1)
      overlaps.push(texts[i].textContent + ' | ' + texts[j].textContent);
  }
  return {
    chart: s.id || s.closest('[id]').id,
    smallest: Math.min(...texts.map(t => parseFloat(getComputedStyle(t).fontSize) * scale)),
    overlaps,
    outside: texts.filter((t, i) => boxes[i].left < frame.left - 1 || boxes[i].right > frame.right + 1)
      .map(t => t.textContent),
  };
})"""
