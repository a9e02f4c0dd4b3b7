//! The OpenAI Responses API (`/responses`, also Azure's `/openai/v1/responses`): request
//! building, the JSON answer, and the named-event SSE stream (PROTOCOLS.md §1.5), apart.

mod request;
mod response;
mod stream;

pub use request::encode_responses_request;
pub use response::decode_responses_response;
pub use stream::ResponsesStreamDecoder;
