using System.Net;
using System.Text.Json;
using FluentValidation;
using Hive.Shared;
using Hive.Shared.Agents;
using Hive.Shared.Errors;
using MediatR;
using Microsoft.Extensions.Options;

namespace Hive.Features.Forge;

/// <summary>
/// Pull requests on the forge, for the merge queue: one opened as the agent that wrote the branch (its own token, so the
/// forge shows who made the change), and marked merged as the hive (<c>core</c>) once the queue has landed it on the base
/// itself. Both may be asked again: an open request for the same branches is the answer, a merged one stays merged.
/// </summary>
public static class PullRequests
{
    /// <summary><paramref name="Head"/> onto <paramref name="Base"/>, branches of <paramref name="Repository"/> (owner/name), opened as <paramref name="Agent"/>.</summary>
    public sealed record Open(string Agent, string Repository, string Head, string Base, string Title, string Body) : IRequest<ForgePull>;

    /// <summary>Pull request <paramref name="Number"/> was merged by <paramref name="MergeSha"/>, which is on its base.</summary>
    public sealed record MarkMerged(string Repository, long Number, string MergeSha) : IRequest;

    internal sealed class OpenValidator : AbstractValidator<Open>
    {
        public OpenValidator()
        {
            RuleFor(c => c.Agent).Must(AgentNames.IsWellFormed).WithMessage("agent must be an agent's name");
            RuleFor(c => c.Repository).Must(ForgeGit.IsRepository).WithMessage("repository must be owner/name");
            RuleFor(c => c.Head).NotEmpty();
            RuleFor(c => c.Base).NotEmpty();
            RuleFor(c => c.Title).NotEmpty().MaximumLength(255);
        }
    }

    internal sealed class MarkMergedValidator : AbstractValidator<MarkMerged>
    {
        public MarkMergedValidator()
        {
            RuleFor(c => c.Repository).Must(ForgeGit.IsRepository).WithMessage("repository must be owner/name");
            RuleFor(c => c.Number).GreaterThan(0);
            RuleFor(c => c.MergeSha).NotEmpty();
        }
    }

    internal sealed class OpenHandler(IOptions<ForgeOptions> options, ForgejoClient forge, HivePaths paths) : IRequestHandler<Open, ForgePull>
    {
        public async Task<ForgePull> Handle(Open open, CancellationToken cancellationToken)
        {
            if (!options.Value.Enabled) throw new ConflictException("the forge is off (Hive:Forge:Url is empty)");
            var auth = new ForgeAuth.Token(ForgeGit.TokenOf(paths, open.Agent));
            return await Answered(() => forge.OpenPullAsync(open.Repository, open.Head, open.Base, open.Title, open.Body, auth, cancellationToken));
        }
    }

    internal sealed class MarkMergedHandler(IOptions<ForgeOptions> options, ForgejoClient forge, HivePaths paths) : IRequestHandler<MarkMerged>
    {
        public async Task<Unit> Handle(MarkMerged mark, CancellationToken cancellationToken)
        {
            if (!options.Value.Enabled) throw new ConflictException("the forge is off (Hive:Forge:Url is empty)");
            var auth = new ForgeAuth.Token(ForgeGit.TokenOf(paths, ForgeSweep.CoreUser));
            return await Answered(async () =>
            {
                await forge.MarkPullMergedAsync(mark.Repository, mark.Number, mark.MergeSha, auth, cancellationToken);
                return Unit.Value;
            });
        }
    }

    /// <summary>The forge's refusal or silence as a conflict, in its sentence (the callers outside this slice know no <see cref="ForgeException"/>).</summary>
    private static async Task<T> Answered<T>(Func<Task<T>> call)
    {
        try
        {
            return await call();
        }
        catch (ForgeException e)
        {
            throw new ConflictException(e.Message);
        }
    }
}

/// <summary>A pull request as the API shows it (the fields Hive reads).</summary>
public sealed record ForgePull(long Number, string Url, bool Merged);

/// <summary>The Forgejo API calls for pull requests (<see cref="ForgejoClient"/>'s way: its statuses read, no credential in an error).</summary>
internal static class ForgejoPulls
{
    /// <summary>
    /// Opens a pull request of <paramref name="head"/> onto <paramref name="base"/> (branches of the repository itself) as
    /// the caller, unless one is open for them already (Forgejo answers 409): then that one is the answer.
    /// </summary>
    public static async Task<ForgePull> OpenPullAsync(this ForgejoClient forge, string repository, string head, string @base, string title, string body, ForgeAuth auth, CancellationToken ct)
    {
        var what = $"opening a pull request of {head} onto {@base} in {repository}";
        using var response = await forge.SendAsync(HttpMethod.Post, $"repos/{ForgejoClient.RepositoryPath(repository)}/pulls", new { head, @base, title, body }, auth, what, ct);
        if (response.StatusCode == HttpStatusCode.Created) return ReadPull(await ForgeAnswers.ReadJsonAsync(response, what, ct), what);
        if (response.StatusCode != HttpStatusCode.Conflict) throw await ForgeAnswers.FailureAsync(response, what, ct, auth.Credential);
        var lookup = $"looking up the pull request of {head} onto {@base} in {repository}";
        using var open = await forge.SendAsync(HttpMethod.Get, $"repos/{ForgejoClient.RepositoryPath(repository)}/pulls/{ForgejoClient.Segment(@base)}/{BranchPath(head)}", null, auth, lookup, ct);
        await ForgeAnswers.EnsureAsync(open, HttpStatusCode.OK, lookup, ct, auth.Credential);
        return ReadPull(await ForgeAnswers.ReadJsonAsync(open, lookup, ct), lookup);
    }

    /// <summary>
    /// Marks pull request <paramref name="number"/> merged by <paramref name="mergeSha"/>, a commit already on its base
    /// (Forgejo's <c>manually-merged</c>: nothing is merged by the forge). One already merged counts as marked.
    /// </summary>
    public static async Task MarkPullMergedAsync(this ForgejoClient forge, string repository, long number, string mergeSha, ForgeAuth auth, CancellationToken ct)
    {
        var what = $"marking pull request {number} of {repository} merged";
        using var response = await forge.SendAsync(HttpMethod.Post, $"repos/{ForgejoClient.RepositoryPath(repository)}/pulls/{number}/merge",
            new { Do = "manually-merged", MergeCommitID = mergeSha }, auth, what, ct);
        if (response.StatusCode == HttpStatusCode.OK) return;
        var failure = await ForgeAnswers.FailureAsync(response, what, ct, auth.Credential);
        using var pull = await forge.SendAsync(HttpMethod.Get, $"repos/{ForgejoClient.RepositoryPath(repository)}/pulls/{number}", null, auth, what, ct);
        if (pull.StatusCode == HttpStatusCode.OK && ReadPull(await ForgeAnswers.ReadJsonAsync(pull, what, ct), what).Merged) return;
        throw failure;
    }

    private static ForgePull ReadPull(JsonElement pull, string what) =>
        pull.ValueKind == JsonValueKind.Object
        && pull.TryGetProperty("number", out var number) && number.ValueKind == JsonValueKind.Number
        && pull.TryGetProperty("html_url", out var url) && url.ValueKind == JsonValueKind.String
            ? new ForgePull(number.GetInt64(), url.GetString()!, pull.TryGetProperty("merged", out var merged) && merged.ValueKind == JsonValueKind.True)
            : throw new ForgeException($"{what}: the forge's answer has no pull request in it");

    /// <summary>A branch in a path (<c>ticket/12-x</c> stays two segments, each escaped): Forgejo's route takes the rest of the path.</summary>
    private static string BranchPath(string branch) => string.Join('/', branch.Split('/').Select(ForgejoClient.Segment));
}
