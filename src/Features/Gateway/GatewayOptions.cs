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

    /// <summary>A local model server the host runs itself for this provider; null: the provider is someone else's.</summary>
    public ServeOptions? Serve { get; set; }
}

/// <summary>
/// <c>Hive:Gateway:Providers:NAME:Serve</c>: the provider is a model server the host runs as a supervised process of its own
/// (started with the host, restarted when it dies, stopped with the host), such as llama.cpp's <c>llama-server</c>.
/// </summary>
public sealed class ServeOptions
{
    /// <summary>The program and its arguments, never through a shell.</summary>
    public List<string> Command { get; set; } = [];

    /// <summary>Variables the server gets besides <c>PATH</c> and <c>LANG</c> (none of the host's own).</summary>
    public Dictionary<string, string> Env { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Polled until it answers 2xx: only then is the server up.</summary>
    public string Health { get; set; } = "";

    /// <summary>How many requests it serves at once: the provider's <c>MaxInFlight</c>, so the rest wait at the gateway.</summary>
    public int? Slots { get; set; }

    /// <summary>The context window it serves, in tokens: an agent that needs more is refused on this provider.</summary>
    public int? Context { get; set; }

    /// <summary>The longest wait between restarts (the wait doubles from one second up to it).</summary>
    public int MaxBackoffSeconds { get; set; } = 60;

    /// <summary>Runs in a row that end before the server was ever up, after which it is left down (failed) rather than started again.</summary>
    public int MaxFailedStarts { get; set; } = 3;
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
