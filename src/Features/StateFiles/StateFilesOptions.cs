namespace Hive.Features.StateFiles;

/// <summary>The <c>Hive:StateFiles</c> configuration section.</summary>
public sealed class StateFilesOptions
{
    public static readonly IReadOnlyList<string> DefaultDenyNames =
        ["forge-token", "*.key", "*.pem", ".credentials*", "id_rsa*", "id_ed25519*"];

    /// <summary>
    /// File names never served or linked, as globs (<c>*</c> any run, <c>?</c> any one character), matched
    /// case-insensitively. Replaces the defaults when set. A <c>\</c> is refused at start-up: the BCL matcher reads it as an
    /// escape, except after a leading <c>*</c> where it compares it literally, so no one meaning would hold.
    /// </summary>
    public List<string>? DenyNames { get; set; }

    public IReadOnlyList<string> EffectiveDenyNames => DenyNames is { Count: > 0 } names ? names : DefaultDenyNames;
}
