/** Small touches on the core's JSON responses. */

import type { ChatResponse, EmbedResponse } from './types';

/** `guardrails` as a list always (the core leaves it out when no guardrail ran). */
export function withOutcomes<R extends ChatResponse | EmbedResponse>(r: R): R {
  r.guardrails ??= [];
  return r;
}

/** Adds the `text` convenience field (`message.content`, or `''`) and {@link withOutcomes}. */
export function withText(r: ChatResponse): ChatResponse {
  r.text = r.message.content ?? '';
  return withOutcomes(r);
}
