using Hive.Features.Forge.Webhooks;
using Hive.Shared;
using Hive.Shared.Backup;

namespace Hive.Features.Forge;

/// <summary>
/// The forge's files in a backup, when they are in the data dir: the webhook secret (the forge signs with it) and the core
/// token the hive minted. Without them a restored hive makes new ones, which the forge does not know.
/// </summary>
internal sealed class ForgeBackup(WebhookSecret webhookSecret, HivePaths paths) : IBackupPart
{
    public string Name => "forge";

    public Task<bool> CopyAsync(string into, CancellationToken cancellationToken)
    {
        var copied = false;
        foreach (var file in (string[])[webhookSecret.FilePath, ForgeSweep.CoreTokenPath(paths)])
        {
            if (Path.GetDirectoryName(file) != paths.DataDir || !File.Exists(file)) continue;
            BackupFiles.CopyFile(file, Path.Combine(into, Path.GetFileName(file)));
            copied = true;
        }
        return Task.FromResult(copied);
    }
}
