namespace Hive.Features.StateFiles;

/// <summary>The <c>Hive:StateFiles</c> configuration section.</summary>
public sealed class StateFilesOptions
{
    public static readonly IReadOnlyList<string> DefaultDenyNames =
        ["forge-token", "*.key", "*.pem", ".credentials*", "id_rsa*", "id_ed25519*"];

    /// <summary>File names never served or linked, as globs (<c>*</c> only), matched case-insensitively. Replaces the defaults when set.</summary>
    public List<string>? DenyNames { get; set; }

    public IReadOnlyList<string> EffectiveDenyNames => DenyNames is { Count: > 0 } names ? names : DefaultDenyNames;
}
