using System.CommandLine;

namespace Hive.Cli;

/// <summary>
/// What one invocation knows: its parse result, where it writes, and how to reach the hive (the global options, then the
/// environment, then the defaults). The socket and HTTP clients are made on demand, so a command touches only what it uses.
/// Human output goes through <see cref="TerminalWriter"/> (so agents' text cannot drive the terminal); <c>--json</c>
/// output is written as it is (JSON escaping already makes it inert, and scripts get the exact characters).
/// </summary>
public sealed class CliContext(ParseResult parse, TextWriter output, TextWriter error)
{
    public ParseResult Parse { get; } = parse;
    public TextWriter Out { get; } = parse.GetValue(GlobalOptions.Json) ? output : new TerminalWriter(output);
    public TextWriter Err { get; } = new TerminalWriter(error);
    public bool Json => Parse.GetValue(GlobalOptions.Json);

    public T? Value<T>(Option<T> option) => Parse.GetValue(option);
    public T? Value<T>(Argument<T> argument) => Parse.GetValue(argument);

    /// <summary>The agent's socket: <c>--socket</c>, else <c>$HIVE_SOCKET</c> (set by the hive in every agent it runs).</summary>
    public string SocketPath =>
        NonEmpty(Parse.GetValue(GlobalOptions.Socket)) ?? NonEmpty(Environment.GetEnvironmentVariable("HIVE_SOCKET"))
        ?? throw new UsageError("no agent socket: give --socket PATH or set HIVE_SOCKET");

    /// <summary>
    /// Whether a command that both sides have (<c>send</c>, <c>remind</c>) speaks as an agent: a socket is given
    /// (<c>--socket</c> or <c>$HIVE_SOCKET</c>) and <paramref name="asOperator"/> is not. Otherwise it is the operator's,
    /// over HTTP with the operator token.
    /// </summary>
    public bool SpeaksAsAgent(Option<bool> asOperator)
    {
        var given = NonEmpty(Parse.GetValue(GlobalOptions.Socket));
        if (!Parse.GetValue(asOperator)) return (given ?? NonEmpty(Environment.GetEnvironmentVariable("HIVE_SOCKET"))) is not null;
        if (given is not null) throw new UsageError("--as-operator speaks over HTTP: leave out --socket");
        return false;
    }

    public Uri Url
    {
        get
        {
            var text = NonEmpty(Parse.GetValue(GlobalOptions.Url)) ?? NonEmpty(Environment.GetEnvironmentVariable("HIVE_URL")) ?? GlobalOptions.DefaultUrl;
            return Uri.TryCreate(text, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"
                ? uri
                : throw new UsageError($"--url must be an http(s) address, not {text}");
        }
    }

    public string DataDir => NonEmpty(Parse.GetValue(GlobalOptions.DataDir)) ?? ".hive";

    /// <summary>The operator token: <c>--token</c>, else <c>$HIVE_TOKEN</c>, else the data dir's <c>operator-token</c>; null when none.</summary>
    public string? Token => FindToken().Token;

    /// <summary>The token and where it came from (or which file was tried), for an error that says so.</summary>
    private (string? Token, string Source) FindToken()
    {
        if (NonEmpty(Parse.GetValue(GlobalOptions.Token)) is { } given) return (given, "the token came from --token");
        if (NonEmpty(Environment.GetEnvironmentVariable("HIVE_TOKEN")) is { } env) return (env, "the token came from $HIVE_TOKEN");
        var file = Path.GetFullPath(Path.Combine(DataDir, "operator-token"));
        try
        {
            return File.Exists(file) && NonEmpty(File.ReadAllText(file).Trim()) is { } read
                ? (read, $"the token came from {file}")
                : (null, $"no token: {file} does not exist or is empty");
        }
        catch (UnauthorizedAccessException)
        {
            throw new CliError("unauthorized", $"cannot read {file}: give --token, set HIVE_TOKEN, or --data-dir DIR where the hive's operator-token is");
        }
    }

    public Task<HiveSocketClient> ConnectAsync(CancellationToken ct) => HiveSocketClient.ConnectAsync(SocketPath, ct);

    public HiveApiClient Api()
    {
        var (token, source) = FindToken();
        return new HiveApiClient(Url, token, tokenSource: source);
    }

    private static string? NonEmpty(string? s) => string.IsNullOrWhiteSpace(s) ? null : s;
}
