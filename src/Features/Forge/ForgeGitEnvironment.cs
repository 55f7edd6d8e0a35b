namespace Hive.Features.Forge;

/// <summary>
/// The environment every git the hive runs against a remote gets (<see cref="MetaPusher"/>, <see cref="ForgeGit"/>,
/// <see cref="RemoteGit"/>): no system or user configuration, no prompts, no redirects, and a credential helper that
/// answers with a token file's contents, so the token is never in a URL, an argv, the environment or a log line.
/// <c>HOME</c> is the data dir.
/// </summary>
internal static class ForgeGitEnvironment
{
    // The helper answers git's "get" only for the forge's own protocol and host (git must not hand a token to wherever a
    // forge or a proxy redirects it; redirects are off besides) with the token file's contents. printf is a shell builtin,
    // so the token is no process's argument.
    private const string CredentialHelper = """
        !hive_forge_credential() {
          test "$1" = get || exit 0
          while IFS='=' read -r key value; do
            test -z "$key" && break
            case "$key" in protocol) protocol=$value ;; host) host=$value ;; esac
          done
          test "$protocol" = "$HIVE_FORGE_PROTOCOL" && test "$host" = "$HIVE_FORGE_HOST" || exit 0
          printf 'username=%s\npassword=%s\n' "$HIVE_FORGE_USER" "$(cat "$HIVE_FORGE_TOKEN_FILE")"
        }; hive_forge_credential
        """;

    /// <summary>
    /// The environment for a git run as <paramref name="user"/> whose token is in <paramref name="tokenFile"/> (a file only
    /// the host can read), plus <paramref name="config"/> as command-line configuration (after the fixed entries).
    /// </summary>
    public static Dictionary<string, string> For(
        ForgeOptions options, string dataDir, string user, string tokenFile, IReadOnlyList<KeyValuePair<string, string>>? config = null) =>
        For(dataDir, new Credential(options.BaseUri, user, tokenFile), config);

    /// <summary>A user of <paramref name="Server"/> and the file (only the host can read it) holding its token or password.</summary>
    public sealed record Credential(Uri Server, string User, string File);

    /// <summary>
    /// The environment for a git run with <paramref name="credential"/> (null: git is given none at all), plus
    /// <paramref name="config"/> as command-line configuration (after the fixed entries).
    /// </summary>
    public static Dictionary<string, string> For(string dataDir, Credential? credential, IReadOnlyList<KeyValuePair<string, string>>? config = null)
    {
        var env = new Dictionary<string, string>
        {
            ["HOME"] = dataDir,
            ["GIT_CONFIG_NOSYSTEM"] = "1", ["GIT_CONFIG_GLOBAL"] = "/dev/null", ["GIT_TERMINAL_PROMPT"] = "0",
        };
        List<KeyValuePair<string, string>> entries = [new("credential.helper", "")]; // forget any helper configured before
        if (credential is not null)
        {
            env["HIVE_FORGE_TOKEN_FILE"] = credential.File;
            env["HIVE_FORGE_USER"] = credential.User;
            env["HIVE_FORGE_PROTOCOL"] = credential.Server.Scheme;
            env["HIVE_FORGE_HOST"] = credential.Server.Authority;
            entries.Add(new("credential.helper", CredentialHelper));
        }
        entries.AddRange([new("http.followRedirects", "false"), .. config ?? []]);
        env["GIT_CONFIG_COUNT"] = entries.Count.ToString(System.Globalization.CultureInfo.InvariantCulture);
        for (var i = 0; i < entries.Count; i++)
        {
            env[$"GIT_CONFIG_KEY_{i}"] = entries[i].Key;
            env[$"GIT_CONFIG_VALUE_{i}"] = entries[i].Value;
        }
        return env;
    }

    /// <summary>
    /// Runs git against <paramref name="url"/> as the remote <c>forge</c> of this run only, with <paramref name="user"/> and
    /// <paramref name="secret"/> (none: no credential) handed to the helper through a 0600 copy in <paramref name="dataDir"/>
    /// (no agent reaches it), removed after; the output is redacted of the secret.
    /// </summary>
    public static async Task<ForgeGit.Result> RunAsync(string dataDir, string url, string? user, string? secret, string workingDirectory,
        IReadOnlyList<string> args, TimeSpan timeout, CancellationToken ct)
    {
        string? copy = null;
        try
        {
            Credential? credential = null;
            if (secret is not null)
            {
                copy = Path.Combine(dataDir, $".forge-git-{Guid.NewGuid():N}");
                Hive.Shared.Files.PrivateFile.WriteText(copy, secret, Hive.Shared.Files.Durability.None);
                credential = new Credential(new Uri(url), user ?? "hive", copy);
            }
            var git = await Hive.Shared.Processes.ChildProcess.RunAsync(new Hive.Shared.Processes.ChildCommand("git", args)
            {
                WorkingDirectory = workingDirectory,
                Timeout = timeout,
                Environment = For(dataDir, credential,
                [
                    new($"remote.{ForgeGit.Remote}.url", url),
                    new($"remote.{ForgeGit.Remote}.fetch", $"+refs/heads/*:refs/remotes/{ForgeGit.Remote}/*"),
                ]),
            }, ct);
            if (git.TimedOut) return new ForgeGit.Result(-1, "", $"git {args[0]} did not finish within {timeout.TotalSeconds:0.#} s");
            return new ForgeGit.Result(git.ExitCode, Redact(git.Stdout, secret), Redact(git.Stderr, secret));
        }
        finally
        {
            if (copy is not null) File.Delete(copy);
        }
    }

    /// <summary>git does not print credentials, but a message is never trusted to keep a secret.</summary>
    public static string Redact(string text, string? token) =>
        token is { Length: > 0 } ? text.Replace(token, "[token]", StringComparison.Ordinal) : text;
}
