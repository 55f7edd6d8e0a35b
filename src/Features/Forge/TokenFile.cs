using Hive.Features.StateFiles;
using Hive.Shared;
using Hive.Shared.Agents;
using Hive.Shared.Files;
using Hive.Shared.Native;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Hive.Features.Forge;

/// <summary>
/// A token on disk: 0600, written whole or not at all (a temp file renamed over the name, so a link planted there is
/// replaced, never followed). The core token is written here; an agent's goes through StateFiles' writer, into the state
/// dir the agent owns. An agent owns its state dir, so what sits at the name is checked without following or
/// opening it: a FIFO there would hang every sweep that read it, a link would lead elsewhere.
/// </summary>
internal static class TokenFile
{
    /// <summary>True for a regular file; false for nothing; <see cref="ForgeException"/> for anything else.</summary>
    public static bool Exists(string path)
    {
        FileStatus? status;
        try
        {
            status = FileStatus.OfPath(path);
        }
        catch (IOException e)
        {
            throw new ForgeException(e.Message);
        }
        return status switch
        {
            null => false,
            { Type: FileStatus.Regular } => true,
            _ => throw new ForgeException($"{path} is not a regular file (a link, a FIFO, a directory?): remove it and the next sweep issues a token"),
        };
    }

    public static bool ExistsQuietly(string path)
    {
        try
        {
            return Exists(path);
        }
        catch (ForgeException)
        {
            return false;
        }
    }

    /// <summary>The token, or null when there is none; read only from a regular file.</summary>
    public static string? Read(string path)
    {
        if (!Exists(path)) return null;
        try
        {
            var text = File.ReadAllText(path).Trim();
            return text.Length > 0 ? text : null;
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ForgeException($"{path} cannot be read ({e.Message})");
        }
    }

    /// <summary>A temp file beside <paramref name="path"/>, made now (so a directory that cannot take the token is known before one is minted).</summary>
    public static PendingToken Prepare(string path)
    {
        try
        {
            return new PendingToken(PrivateFile.Prepare(path));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ForgeException($"{path} cannot be written ({e.Message}), so no token is issued");
        }
    }

    /// <summary>The temp file of a token being issued: <see cref="Commit"/> writes, syncs and renames it into place; disposing removes what is left.</summary>
    internal sealed class PendingToken(PrivateFile.Pending pending) : IPendingStateFile
    {
        public void Commit(string token) => pending.Commit(System.Text.Encoding.ASCII.GetBytes(token), Durability.NeverTorn);

        public void Dispose() => pending.Dispose();
    }
}
