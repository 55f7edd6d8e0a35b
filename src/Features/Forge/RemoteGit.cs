using Hive.Contracts.Containers;
using Hive.Features.Containers;
using Hive.Shared;
using Hive.Shared.Errors;
using MediatR;
using Microsoft.Extensions.Options;

namespace Hive.Features.Forge;

/// <summary>
/// Runs one git command against a plain repository, one that is not on the forge: an <c>http(s)://</c> or <c>file://</c>
/// URL, or an absolute path on the host (a bare repository, or a working one: git refuses a push to its checked-out
/// branch, and the hive pushes only other branches to it). An http(s) repository may need a credential: the name of a
/// secret (<c>hivectl secrets set</c>) whose value is the password or token; the user is the URL's own
/// (<c>https://user@host/…</c>) or <c>hive</c>. As with <see cref="ForgeGit"/> the repository is the remote
/// <c>forge</c> of this run only (so the workspaces read both kinds alike, and nothing of it is written into a clone's
/// config), and the secret reaches git only through the credential helper, from a file only the host reads, removed
/// after; the answer is redacted of it besides. No agent ever holds it.
/// </summary>
public static class RemoteGit
{
    /// <summary>Longest address taken.</summary>
    public const int MaxAddress = 1000;

    /// <param name="Address">An http(s) or file URL, or an absolute path (<see cref="Problem"/> says which are taken).</param>
    /// <param name="Credential">The name of the secret holding the password or token; null: none.</param>
    /// <param name="Timeout">Default <c>Hive:Forge:PushTimeoutSeconds</c>.</param>
    public sealed record Command(string Address, string? Credential, string WorkingDirectory, IReadOnlyList<string> Args, TimeSpan? Timeout = null)
        : IRequest<ForgeGit.Result>;

    /// <summary>Why <paramref name="address"/> (with <paramref name="credential"/>) is not a plain repository the hive takes; null when it is.</summary>
    public static string? Problem(string address, string? credential)
    {
        if (address.Length > MaxAddress) return $"a repository's address is at most {MaxAddress} characters";
        if (address.Any(char.IsControl) || address.Contains(' ', StringComparison.Ordinal)) return "a repository's address has no spaces or control characters";
        if (credential is not null && !SecretNames.IsWellFormed(credential)) return $"credential names a secret: its name must match {SecretNames.Pattern}";
        if (address.StartsWith('/'))
        {
            if (address.Split('/').Any(s => s is "." or "..")) return $"{address}: a path without . or .. segments";
            return credential is null ? null : "a credential is for an http(s) URL: a path is read as the hive's own user";
        }
        if (!Uri.TryCreate(address, UriKind.Absolute, out var uri))
            return "repository is owner/name (on the forge), an absolute path, or an http(s) or file URL";
        return uri.Scheme switch
        {
            "file" when credential is not null => "a credential is for an http(s) URL: a file URL is read as the hive's own user",
            "file" => uri.Host.Length > 0 ? "a file URL names no host (file:///path)" : null,
            "http" or "https" when uri.Host.Length == 0 => "an http(s) URL names its host",
            "http" or "https" when uri.UserInfo.Contains(':', StringComparison.Ordinal) =>
                "the URL holds a password, which would show wherever the workflow does: put it in a secret and name it in credential",
            "http" or "https" => null,
            "ssh" => "ssh URLs are not taken (the hive holds no ssh key): use an https URL with a credential, or a path",
            _ => $"{uri.Scheme} URLs are not taken: use an http(s) or file URL, or a path",
        };
    }

    internal sealed class Handler(IOptions<ForgeOptions> options, HivePaths paths, IMediator mediator) : IRequestHandler<Command, ForgeGit.Result>
    {
        public async Task<ForgeGit.Result> Handle(Command command, CancellationToken cancellationToken)
        {
            if (Problem(command.Address, command.Credential) is { } problem) throw new BadRequestException(problem);
            if (!Path.IsPathFullyQualified(command.WorkingDirectory)) throw new BadRequestException("working_directory must be an absolute path");
            string? secret = null;
            if (command.Credential is { } name)
                secret = await mediator.Send(new ReadSecretValue.Query(name), cancellationToken)
                    ?? throw new ConflictException($"no secret named {name} holds the repository's credential (set it: hivectl secrets set {name})");
            var user = secret is not null && new Uri(command.Address).UserInfo is { Length: > 0 } info ? Uri.UnescapeDataString(info) : "hive";
            return await ForgeGitEnvironment.RunAsync(paths.DataDir, command.Address, user, secret, command.WorkingDirectory, command.Args,
                command.Timeout ?? TimeSpan.FromSeconds(options.Value.PushTimeoutSeconds), cancellationToken);
        }
    }
}
