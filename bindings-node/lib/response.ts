/** Small touches on the core's JSON responses. */

import type { ChatResponse } from './types';

/** Adds the `text` convenience field (`message.content`, or `''`). */
export function withText(r: ChatResponse): ChatResponse {
  r.text = r.message.content ?? '';
  return r;
}
