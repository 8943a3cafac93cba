// The side panel's width: a handle to drag (or move with the arrow keys), kept in localStorage;
// and a watch on the picture's box so the graph refits whenever it changes size (a drag, the
// window, the panel moving below the picture on a narrow screen).

export const WIDTH_KEY = 'podwall.sideWidth';
export const MIN_WIDTH = 260;
/** The picture keeps at least this much of the window. */
const MIN_VIEW = 320;

export interface ResizeOptions {
  /** Called (at most once a frame) after the picture's box changed size. */
  onResize(): void;
  /** The element whose size change calls onResize; the side panel's previous sibling by default. */
  readonly view?: HTMLElement;
}

const clampWidth = (width: number): number => Math.round(Math.max(MIN_WIDTH, Math.min(width, window.innerWidth - MIN_VIEW)));

function storedWidth(): number | undefined {
  try {
    const n = Number(localStorage.getItem(WIDTH_KEY));
    return Number.isFinite(n) && n > 0 ? n : undefined;
  } catch {
    return undefined; // storage refused (a private window): the default width
  }
}

function storeWidth(width: number): void {
  try {
    localStorage.setItem(WIDTH_KEY, String(width));
  } catch {
    // not kept: the next visit starts at the default width
  }
}

/**
 * Makes `side` resizable by `handle` (a separator placed just before it); restores the stored
 * width. Returns a function that stops watching.
 */
export function makeResizable(side: HTMLElement, handle: HTMLElement, options: ResizeOptions): () => void {
  const setWidth = (width: number, keep: boolean): void => {
    const w = clampWidth(width);
    side.style.width = `${w}px`;
    handle.setAttribute('aria-valuenow', String(w));
    if (keep) storeWidth(w);
  };
  handle.setAttribute('role', 'separator');
  handle.setAttribute('aria-orientation', 'vertical');
  handle.setAttribute('aria-label', 'Resize the side panel (arrow keys)');
  handle.setAttribute('aria-valuemin', String(MIN_WIDTH));
  handle.tabIndex = 0;
  const stored = storedWidth();
  if (stored !== undefined) setWidth(stored, false);
  else handle.setAttribute('aria-valuenow', String(Math.round(side.getBoundingClientRect().width)));

  handle.addEventListener('pointerdown', (e: PointerEvent) => {
    e.preventDefault();
    handle.setPointerCapture(e.pointerId);
    const startX = e.clientX;
    const startWidth = side.getBoundingClientRect().width;
    document.body.classList.add('resizing');
    const move = (m: PointerEvent): void => setWidth(startWidth + (startX - m.clientX), false);
    const up = (u: PointerEvent): void => {
      setWidth(startWidth + (startX - u.clientX), true);
      document.body.classList.remove('resizing');
      handle.removeEventListener('pointermove', move);
      handle.removeEventListener('pointerup', up);
      handle.removeEventListener('pointercancel', up);
    };
    handle.addEventListener('pointermove', move);
    handle.addEventListener('pointerup', up);
    handle.addEventListener('pointercancel', up);
  });
  handle.addEventListener('keydown', (e: KeyboardEvent) => {
    const step = e.shiftKey ? 80 : 20;
    const width = side.getBoundingClientRect().width;
    if (e.key === 'ArrowLeft') setWidth(width + step, true);
    else if (e.key === 'ArrowRight') setWidth(width - step, true);
    else return;
    e.preventDefault();
  });

  const view = options.view ?? (side.previousElementSibling as HTMLElement | null) ?? side;
  let frame = 0;
  const observer = new ResizeObserver(() => {
    cancelAnimationFrame(frame);
    frame = requestAnimationFrame(() => options.onResize());
  });
  observer.observe(view);
  return () => {
    observer.disconnect();
    cancelAnimationFrame(frame);
  };
}
