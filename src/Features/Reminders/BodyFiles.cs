using Hive.Features.StateFiles;
using Microsoft.Extensions.Logging;

namespace Hive.Features.Reminders;

/// <summary>Where a long reminder's body is kept: <c>reminders/&lt;id&gt;.md</c> in its agent's state dir.</summary>
internal static class BodyFiles
{
    public const string Directory = "reminders";

    /// <summary>Removes a body file after its reminder is gone; a failure is logged, never thrown (the reminder is cancelled).</summary>
    public static void DeleteQuietly(this IStateFileWriter files, string agent, string name, ILogger logger)
    {
        try
        {
            files.Delete(agent, Directory, name);
        }
        catch (Exception e) when (e is IOException or ArgumentException)
        {
            logger.LogWarning("could not remove {Agent}'s reminder file {Directory}/{Name}: {Error}", agent, Directory, name, e.Message);
        }
    }
}
