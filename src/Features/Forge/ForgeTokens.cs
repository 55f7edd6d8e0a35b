using Hive.Features.StateFiles;
using Microsoft.Extensions.Logging;

namespace Hive.Features.Forge;

/// <summary>
/// The tokens the hive mints on the forge for <see cref="ForgeSweep"/>: one issued into its file (the ones before it
/// revoked), and the hive's own (<c>hive-*</c>) revoked; a person's own tokens are never touched.
/// </summary>
internal sealed class ForgeTokens(ForgejoClient forge, TimeProvider clock, ILogger logger)
{
    /// <summary>Deletes the user's <c>hive-*</c> tokens but <paramref name="keep"/>; how many it deleted.</summary>
    public async Task<int> RevokeHiveAsync(string user, string password, string? keep)
    {
        var revoked = 0;
        foreach (var token in await forge.ListTokensAsync(user, password, CancellationToken.None))
        {
            if (!token.Name.StartsWith(ForgeSweep.TokenPrefix, StringComparison.Ordinal) || token.Name == keep) continue;
            await forge.DeleteTokenAsync(user, password, token.Id, CancellationToken.None);
            revoked++;
        }
        return revoked;
    }

    /// <summary>
    /// Mints a token the only way Forgejo allows (Basic auth as its user): a fresh password nobody keeps, set through the
    /// admin API, used once. The token goes straight to its 0600 file; token names carry the clock (names are unique per user).
    /// </summary>
    public async Task<string> IssueAsync(
        string user, ForgeAuth admin, IReadOnlyList<string> scopes, string file, Func<IPendingStateFile> prepare, CancellationToken ct)
    {
        // The file's place first: a token the forge shows once must not be minted into a directory that cannot take it.
        using var place = prepare();
        ct.ThrowIfCancellationRequested();
        // From here on, not cancelled by the host stopping (each call has its timeout): a password set and a token minted
        // are finished and written, never left half done.
        var password = ForgejoClient.NewSecret();
        await forge.EditUserAsync(user, admin, makeAdmin: null, password, CancellationToken.None);
        var name = $"{ForgeSweep.TokenPrefix}{clock.GetUtcNow():yyyyMMdd'T'HHmmssfff'Z'}";
        var token = await forge.CreateTokenAsync(user, password, name, scopes, CancellationToken.None);
        try
        {
            place.Commit(token);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ForgeException($"a token was issued but {file} could not be written ({e.Message}); the next sweep issues another");
        }
        logger.LogInformation("forge: issued a token for {User} at {File}", user, file);
        // A token is re-issued when its file went missing or the forge refused it: the ones before it are revoked, so
        // copies of them stop working (a failure here is only logged: the new token is in place either way).
        try
        {
            var revoked = await RevokeHiveAsync(user, password, keep: name);
            if (revoked > 0) logger.LogInformation("forge: revoked {Count} earlier token(s) of {User}", revoked, user);
        }
        catch (ForgeException e)
        {
            logger.LogWarning("forge: the earlier tokens of {User} were not revoked: {Failure}", user, e.Message);
        }
        return token;
    }
}
