using Microsoft.Extensions.Options;

namespace Hive.Shared.Socket;

/// <summary>
/// <c>Hive:Sockets:FileMode</c>: an octal mode (<c>0600</c>, <c>660</c>, ...) with read and write for the owner,
/// optionally read/write for the group, and nothing else: a socket others can open would let any local user speak as
/// the agent.
/// </summary>
public static class SocketFileMode
{
    public const string Key = "Hive:Sockets:FileMode";

    private const UnixFileMode Required = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode Allowed = Required | UnixFileMode.GroupRead | UnixFileMode.GroupWrite;

    public static bool TryParse(string? text, out UnixFileMode mode, out string error)
    {
        mode = default;
        if (string.IsNullOrEmpty(text) || text.Length > 4 || !text.All(c => c is >= '0' and <= '7'))
        {
            error = $"{Key} '{text}' is not an octal file mode such as 0600 or 0660";
            return false;
        }
        var value = (UnixFileMode)Convert.ToInt32(text, 8);
        if ((value & Required) != Required || (value & ~Allowed) != 0)
        {
            error = $"{Key} '{text}' is not allowed: the owner needs read and write, the group may have read and write, " +
                    "others and execute bits nothing (0600 or 0660)";
            return false;
        }
        mode = value;
        error = "";
        return true;
    }

    public static UnixFileMode Parse(string? text) =>
        TryParse(text, out var mode, out var error) ? mode : throw new InvalidOperationException(error);

    /// <summary>Refuses a bad mode when the options are first read (at start-up, before any socket opens).</summary>
    public sealed class Validation : IValidateOptions<HiveOptions>
    {
        public ValidateOptionsResult Validate(string? name, HiveOptions options) =>
            TryParse(options.Sockets.FileMode, out _, out var error) ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(error);
    }
}
