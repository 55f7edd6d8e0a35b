namespace Hive.Features.Containers;

/// <summary>The <c>Hive:Meta</c> configuration section: the bounds on reading meta inputs, and a test hook for deploys.</summary>
public sealed class MetaOptions
{
    /// <summary>An input (a file, or a directory's names and bytes) is pinned only if it holds at most this many bytes.</summary>
    public long MaxInputBytes { get; set; } = 256L * 1024 * 1024;

    /// <summary>Pinning one input (hashing it, or asking git for its <c>HEAD</c>) gives up after this.</summary>
    public double InputTimeoutSeconds { get; set; } = 30;

    /// <summary>
    /// Tests only: an approved deploy stops for good at this named step (<c>approved</c>, <c>committed</c>, <c>started</c>,
    /// <c>marked</c>), after logging that it did, so a test can kill the host exactly there. Empty: never.
    /// </summary>
    public string PauseDeployAt { get; set; } = "";

    public TimeSpan InputTimeout => TimeSpan.FromSeconds(InputTimeoutSeconds);
}
