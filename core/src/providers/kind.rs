//! The providers modelplug can call, with their defaults (base URL, API-key variable).

use std::fmt;

/// A provider a deployment can name in `provider:` (or as the prefix of `provider/model`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProviderKind {
    /// OpenAI (api.openai.com).
    OpenAi,
    /// Azure OpenAI (deployment URLs with `api-version`, or the `/openai/v1/` path).
    Azure,
    /// Any OpenAI-compatible server at a `base_url` you give.
    OpenAiCompatible,
    /// Groq.
    Groq,
    /// Mistral AI.
    Mistral,
    /// Ollama (local by default).
    Ollama,
    /// OpenRouter.
    OpenRouter,
    /// DeepSeek.
    DeepSeek,
    /// Cerebras.
    Cerebras,
    /// Together AI.
    Together,
    /// Hugging Face inference router.
    HuggingFace,
    /// vLLM's OpenAI-compatible server (`base_url` required).
    Vllm,
    /// Anthropic's Messages API (api.anthropic.com).
    Anthropic,
    /// Google's Gemini API (generativelanguage.googleapis.com).
    Gemini,
    /// Google Cloud's Vertex AI: Gemini models, and Claude (Anthropic's models on Vertex).
    Vertex,
    /// AWS Bedrock Runtime (Converse / ConverseStream; hosted, imported and provisioned models).
    Bedrock,
    /// A SageMaker real-time endpoint whose container speaks the OpenAI chat format (TGI, LMI/vLLM).
    SageMaker,
    /// The in-process mock provider, for tests and demos: no network.
    Mock,
}

impl ProviderKind {
    /// Every provider, in documentation order.
    pub const ALL: [ProviderKind; 18] = [
        ProviderKind::OpenAi,
        ProviderKind::Azure,
        ProviderKind::OpenAiCompatible,
        ProviderKind::Groq,
        ProviderKind::Mistral,
        ProviderKind::Ollama,
        ProviderKind::OpenRouter,
        ProviderKind::DeepSeek,
        ProviderKind::Cerebras,
        ProviderKind::Together,
        ProviderKind::HuggingFace,
        ProviderKind::Vllm,
        ProviderKind::Anthropic,
        ProviderKind::Gemini,
        ProviderKind::Vertex,
        ProviderKind::Bedrock,
        ProviderKind::SageMaker,
        ProviderKind::Mock,
    ];

    /// The name used in config and in `provider/model`.
    pub fn name(self) -> &'static str {
        match self {
            ProviderKind::OpenAi => "openai",
            ProviderKind::Azure => "azure",
            ProviderKind::OpenAiCompatible => "openai_compatible",
            ProviderKind::Groq => "groq",
            ProviderKind::Mistral => "mistral",
            ProviderKind::Ollama => "ollama",
            ProviderKind::OpenRouter => "openrouter",
            ProviderKind::DeepSeek => "deepseek",
            ProviderKind::Cerebras => "cerebras",
            ProviderKind::Together => "together",
            ProviderKind::HuggingFace => "huggingface",
            ProviderKind::Vllm => "vllm",
            ProviderKind::Anthropic => "anthropic",
            ProviderKind::Gemini => "gemini",
            ProviderKind::Vertex => "vertex",
            ProviderKind::Bedrock => "bedrock",
            ProviderKind::SageMaker => "sagemaker",
            ProviderKind::Mock => "mock",
        }
    }

    /// Parses a provider name (`openai`, `azure`, …; `azure_openai` is accepted too).
    pub fn parse(name: &str) -> Option<ProviderKind> {
        match name {
            "azure_openai" => Some(ProviderKind::Azure),
            "openai-compatible" => Some(ProviderKind::OpenAiCompatible),
            "google" | "google_ai" => Some(ProviderKind::Gemini),
            "vertex_ai" | "vertexai" => Some(ProviderKind::Vertex),
            "aws_bedrock" | "bedrock_converse" => Some(ProviderKind::Bedrock),
            "sagemaker_chat" | "aws_sagemaker" => Some(ProviderKind::SageMaker),
            _ => ProviderKind::ALL.into_iter().find(|k| k.name() == name),
        }
    }

    /// The base URL used when the config gives none.
    pub fn default_base_url(self) -> Option<&'static str> {
        match self {
            ProviderKind::OpenAi => Some("https://api.openai.com/v1"),
            ProviderKind::Groq => Some("https://api.groq.com/openai/v1"),
            ProviderKind::Mistral => Some("https://api.mistral.ai/v1"),
            ProviderKind::Ollama => Some("http://localhost:11434/v1"),
            ProviderKind::OpenRouter => Some("https://openrouter.ai/api/v1"),
            ProviderKind::DeepSeek => Some("https://api.deepseek.com"),
            ProviderKind::Cerebras => Some("https://api.cerebras.ai/v1"),
            ProviderKind::Together => Some("https://api.together.xyz/v1"),
            ProviderKind::HuggingFace => Some("https://router.huggingface.co/v1"),
            ProviderKind::Anthropic => Some("https://api.anthropic.com"),
            ProviderKind::Gemini => Some(super::gemini::GEMINI_API_ROOT),
            // Vertex's and AWS's hosts depend on the location / region.
            ProviderKind::Vertex | ProviderKind::Bedrock | ProviderKind::SageMaker => None,
            ProviderKind::Azure
            | ProviderKind::OpenAiCompatible
            | ProviderKind::Vllm
            | ProviderKind::Mock => None,
        }
    }

    /// The environment variable holding the base URL when the config gives none.
    pub fn base_url_env(self) -> Option<&'static str> {
        match self {
            ProviderKind::Azure => Some("AZURE_OPENAI_ENDPOINT"),
            ProviderKind::OpenAi => Some("OPENAI_BASE_URL"),
            ProviderKind::Anthropic => Some("ANTHROPIC_BASE_URL"),
            ProviderKind::Gemini => Some("GOOGLE_GEMINI_BASE_URL"),
            ProviderKind::Bedrock => Some("AWS_ENDPOINT_URL_BEDROCK_RUNTIME"),
            ProviderKind::SageMaker => Some("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME"),
            _ => None,
        }
    }

    /// The environment variable holding the API key when the config gives none.
    pub fn default_key_env(self) -> Option<&'static str> {
        match self {
            ProviderKind::OpenAi => Some("OPENAI_API_KEY"),
            ProviderKind::Azure => Some("AZURE_OPENAI_API_KEY"),
            ProviderKind::Groq => Some("GROQ_API_KEY"),
            ProviderKind::Mistral => Some("MISTRAL_API_KEY"),
            ProviderKind::Ollama => Some("OLLAMA_API_KEY"),
            ProviderKind::OpenRouter => Some("OPENROUTER_API_KEY"),
            ProviderKind::DeepSeek => Some("DEEPSEEK_API_KEY"),
            ProviderKind::Cerebras => Some("CEREBRAS_API_KEY"),
            ProviderKind::Together => Some("TOGETHER_API_KEY"),
            ProviderKind::HuggingFace => Some("HF_TOKEN"),
            ProviderKind::Anthropic => Some("ANTHROPIC_API_KEY"),
            ProviderKind::Gemini => Some("GEMINI_API_KEY"),
            // An access token (GOOGLE_ACCESS_TOKEN) or a credentials file: see
            // `DeploymentConfig::with_google_defaults`.
            ProviderKind::Vertex => None,
            // A Bedrock API key (bearer); without one, SigV4 with the AWS credential chain.
            ProviderKind::Bedrock => Some("AWS_BEARER_TOKEN_BEDROCK"),
            // SigV4 with the AWS credential chain.
            ProviderKind::SageMaker => None,
            ProviderKind::OpenAiCompatible | ProviderKind::Vllm | ProviderKind::Mock => None,
        }
    }

    /// Whether a call without an API key is a configuration mistake.
    pub fn requires_key(self) -> bool {
        !matches!(
            self,
            ProviderKind::Ollama
                | ProviderKind::OpenAiCompatible
                | ProviderKind::Vllm
                | ProviderKind::Vertex
                | ProviderKind::Bedrock
                | ProviderKind::SageMaker
                | ProviderKind::Mock
        )
    }

    /// Whether the config must give `base_url` (there is no default and no variable).
    pub fn requires_base_url(self) -> bool {
        self.default_base_url().is_none()
            && !matches!(
                self,
                ProviderKind::Mock | ProviderKind::Vertex | ProviderKind::Bedrock | ProviderKind::SageMaker
            )
    }
}

impl fmt::Display for ProviderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
