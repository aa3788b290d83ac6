// Tags of a registered model or a model version: the run page's tag table and add form
// (run-tags.js `EditableTags`) with the registry's set-tag / delete-tag calls.

import { html } from "../lib.js";
import { Section } from "./run-common.js";
import { EditableTags } from "./run-tags.js";

/** `tags` [{key, value}]; `save(key, value)` and `remove(key)` return promises. */
export function RegistryTags({ tags, save, remove, onChanged, testid = "registry-tags" }) {
  const list = tags || [];
  return html`<${Section} title="Tags" count=${list.length} testid=${testid} className="registry-tags">
    <${EditableTags} tags=${list} save=${save} remove=${remove} onChanged=${onChanged} />
  <//>`;
}
