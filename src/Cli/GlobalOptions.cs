using System.CommandLine;

namespace Hive.Cli;

/// <summary>The options every command takes (recursive: they may stand before or after the command's name).</summary>
public static class GlobalOptions
{
    public const string DefaultUrl = "http://127.0.0.1:7480";

    public static readonly Option<string?> Socket = new("--socket")
    {
        Description = "the agent's hive socket (default: $HIVE_SOCKET)",
        Recursive = true,
    };

    public static readonly Option<string?> Url = new("--url")
    {
        Description = $"the hive's HTTP address (default: $HIVE_URL, else {DefaultUrl})",
        Recursive = true,
    };

    public static readonly Option<string?> Token = new("--token")
    {
        Description = "the operator token (default: $HIVE_TOKEN, else <data dir>/operator-token)",
        Recursive = true,
    };

    public static readonly Option<string?> DataDir = new("--data-dir")
    {
        Description = "the hive's data dir, where operator-token is (default: ./.hive)",
        Recursive = true,
    };

    public static readonly Option<bool> Json = new("--json")
    {
        Description = "print exactly one JSON document (the reply, or {ok:false,error,code}) instead of text",
        Recursive = true,
    };

    public static void AddTo(RootCommand root)
    {
        root.Options.Add(Socket);
        root.Options.Add(Url);
        root.Options.Add(Token);
        root.Options.Add(DataDir);
        root.Options.Add(Json);
    }
}
