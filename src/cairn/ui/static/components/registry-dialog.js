// A modal dialog (the browser's <dialog>, so focus stays inside and Escape closes it) for the
// registry's irreversible or name-changing actions: rename and delete.

import { html, useLayoutEffect, useRef } from "../lib.js";

/**
 * Shown while mounted. `onConfirm` runs on submit (Enter or the confirm button), `onCancel` on
 * Cancel or Escape. `children` is the body (text, an input).
 */
export function Dialog({ title, children, confirmLabel, danger, busy, canConfirm = true, onConfirm, onCancel, testid }) {
  const ref = useRef(null);
  // A layout effect, so the dialog is modal in the same commit that mounts it: with a plain
  // effect (run after paint) an early Escape or click reached the page, not the dialog.
  useLayoutEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
    return () => dialog && dialog.open && dialog.close();
  }, []);
  const submit = (ev) => {
    ev.preventDefault();
    if (!busy && canConfirm) onConfirm();
  };
  const cancel = (ev) => {
    ev.preventDefault(); // the browser would close the dialog under Preact: let the owner unmount it
    onCancel();
  };
  return html`<dialog ref=${ref} class="registry-dialog" data-testid=${testid} aria-label=${title} onCancel=${cancel}>
    <form method="dialog" onSubmit=${submit}>
      <h2>${title}</h2>
      <div class="registry-dialog-body">${children}</div>
      <div class="registry-dialog-actions">
        <button type="button" onClick=${cancel} data-testid="dialog-cancel">Cancel</button>
        <button type="submit" class=${danger ? "danger-solid" : "primary"} disabled=${busy || !canConfirm}
          data-testid="dialog-confirm">${confirmLabel}</button>
      </div>
    </form>
  </dialog>`;
}
