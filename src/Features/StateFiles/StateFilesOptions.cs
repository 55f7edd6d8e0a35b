namespace Hive.Features.StateFiles;

/// <summary>The <c>Hive:StateFiles</c> configuration section.</summary>
public sealed class StateFilesOptions
{
    public static readonly IReadOnlyList<string> DefaultDenyNames =
        ["forge-token", "*.key", "*.pem", ".credentials*", "id_rsa*", "id_ed25519*"];

    /// <summary>
    /// More file names never served or linked, as globs (<c>*</c> any run, <c>?</c> any one character), matched
    /// case-insensitively. They add to <see cref="DefaultDenyNames"/>, which configuration cannot remove: .NET binds a
    /// list by index, so <c>DenyNames:0</c> would otherwise silently replace <c>forge-token</c>. A <c>\</c> is refused at
    /// start-up: the BCL matcher reads it as an escape, except after a leading <c>*</c> where it compares it literally,
    /// so no one meaning would hold.
    /// </summary>
    public List<string>? DenyNames { get; set; }

    public IReadOnlyList<string> EffectiveDenyNames => [.. DefaultDenyNames.Concat(DenyNames?.Where(n => n.Length > 0) ?? []).Distinct(StringComparer.OrdinalIgnoreCase)];
}
