namespace Hive.Features.Gateway;

/// <summary><c>Hive:Gateway</c>: the providers agents' model calls go to, and the limits of the door itself.</summary>
public sealed class GatewayOptions
{
    /// <summary>By name (the agent's <c>provider</c>); <c>anthropic</c> is always there, with its public URL and the secret <c>anthropic</c>.</summary>
    public Dictionary<string, ProviderOptions> Providers { get; set; } = new(StringComparer.Ordinal);

    /// <summary>The largest request body an agent may send (a model request with its whole conversation).</summary>
    public long MaxRequestBytes { get; set; } = 32 * 1024 * 1024;

    /// <summary>
    /// How much of a body over <see cref="MaxRequestBytes"/> is still read (and thrown away) before its 413: a client that
    /// sends the whole body at once, as the agents' CLIs do, reads the refusal only if the body was taken to its end (a
    /// connection closed under it is a broken pipe, not a 413). Past this, the connection is cut.
    /// </summary>
    public long DrainLimitBytes => Math.Max(4 * MaxRequestBytes, 64L * 1024 * 1024);

    /// <summary>How long the gateway waits for the provider's first byte, and then between bytes, before it gives up on the call.</summary>
    public int UpstreamTimeoutSeconds { get; set; } = 600;

    public RecordingsOptions Recordings { get; set; } = new();
}

public sealed class ProviderOptions
{
    /// <summary>
    /// <c>anthropic</c> (<c>/v1/messages</c>, <c>/v1/messages/count_tokens</c>), <c>openai</c> (<c>/v1/chat/completions</c>,
    /// <c>/v1/responses</c>) or <c>gemini</c> (<c>/v1beta/models/{model}:generateContent</c>, <c>:streamGenerateContent</c>, <c>:countTokens</c>).
    /// </summary>
    public string Protocol { get; set; } = "";

    /// <summary>The provider's base URL (<c>https://api.anthropic.com</c>); the agent's path is appended.</summary>
    public string Upstream { get; set; } = "";

    /// <summary>The name of the secret (in the hive's store) that holds the provider's key; empty for a provider that takes none.</summary>
    public string KeySecret { get; set; } = "";

    /// <summary>The provider's concurrent-request slots (a local server's parallel slots); null: no limit.</summary>
    public int? MaxInFlight { get; set; }

    /// <summary>How long a call waits for a slot before it is refused.</summary>
    public int MaxQueueSeconds { get; set; } = 300;

    /// <summary>USD per million tokens, by model name as the request names it.</summary>
    public Dictionary<string, ModelPrices> Prices { get; set; } = new(StringComparer.Ordinal);
}

public sealed class ModelPrices
{
    public double InputPerMtok { get; set; }
    public double OutputPerMtok { get; set; }
    public double CacheReadPerMtok { get; set; }
    public double CacheWritePerMtok { get; set; }
}

public sealed class RecordingsOptions
{
    /// <summary>How long a call's recorded bodies are kept.</summary>
    public int Days { get; set; } = 7;

    /// <summary>The most the recordings may take on disk; the oldest go first.</summary>
    public long MaxMiB { get; set; } = 1024;
}
