using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Hive.Contracts.Work;
using Hive.Features.Forge;

namespace Hive.Features.Work.Workspaces;

/// <summary>
/// A workflow's repository as the workspaces reach it: on the forge (<c>owner/name</c>: fetched as <c>core</c>, a ticket's
/// branch pushed as its agent with the agent's own forge token) or plain (<see cref="RemoteGit"/>: a URL or a path,
/// fetched and pushed by the hive with the workflow's credential, which no agent ever holds). Either way it is the remote
/// <c>forge</c> of each git run, so the clone and the worktrees are the same for both.
/// </summary>
/// <param name="Address">The workflow's <c>repository</c>: <c>owner/name</c>, a URL or a path; what the workspace rows hold.</param>
/// <param name="Credential">A plain repository's secret name, or null.</param>
internal sealed partial record WorkRepository(string Address, string? Credential)
{
    public bool OnForge => ForgeGit.IsRepository(Address);

    /// <summary>Where the repository is, for a message: "the forge" or its address.</summary>
    public string Where => OnForge ? "the forge" : Address;

    /// <summary>Why the repository cannot be used, or null (its shape only: whether it answers is <see cref="CheckRepository"/>'s).</summary>
    public string? Problem => !OnForge ? RemoteGit.Problem(Address, Credential)
        : Credential is null ? null : "a credential is for a plain repository (a URL): the forge's are reached as the hive's forge users";

    /// <summary>The workflow's repository, or null when it names none.</summary>
    public static WorkRepository? Of(Workflow? workflow) =>
        workflow?.Repository is { } address ? new WorkRepository(address, workflow.RepositoryCredential) : null;

    /// <summary>
    /// The clone's name under <c>work/repos</c> (and <c>work/store</c>), without <c>.git</c>: <c>owner/name</c> for the
    /// forge's; for a plain one <c>_plain/&lt;its last segment&gt;-&lt;a hash of the address&gt;</c> (a forge owner never
    /// starts with <c>_</c>, so the two never meet).
    /// </summary>
    public static string CloneName(string address)
    {
        if (ForgeGit.IsRepository(address)) return address;
        var last = address.TrimEnd('/').Split('/')[^1];
        if (last.EndsWith(".git", StringComparison.Ordinal)) last = last[..^4];
        var slug = NotSlug().Replace(last, "-").Trim('-', '.');
        if (slug.Length > 40) slug = slug[..40];
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(address)))[..12];
        return $"_plain/{(slug.Length > 0 ? slug : "repo")}-{hash}";
    }

    [GeneratedRegex("[^A-Za-z0-9_.-]+")]
    private static partial Regex NotSlug();
}
