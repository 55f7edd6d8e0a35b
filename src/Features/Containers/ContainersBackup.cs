using Hive.Shared;
using Hive.Shared.Backup;

namespace Hive.Features.Containers;

/// <summary>The operator's secrets in a backup: the files of <c>secrets/</c> (not the temp files of a write under way).</summary>
internal sealed class SecretsBackup(SecretStore secrets) : IBackupPart
{
    public string Name => "secrets";

    public Task<bool> CopyAsync(string into, CancellationToken cancellationToken)
    {
        if (!Directory.Exists(secrets.Dir)) return Task.FromResult(false);
        var to = Path.Combine(into, Path.GetFileName(secrets.Dir));
        HivePaths.EnsurePrivateDirectory(to);
        foreach (var file in Directory.EnumerateFiles(secrets.Dir).Where(f => SecretStore.IsName(Path.GetFileName(f))))
        {
            try
            {
                BackupFiles.CopyFile(file, Path.Combine(to, Path.GetFileName(file)));
            }
            catch (FileNotFoundException)
            {
                // deleted since it was listed: not a secret any more
            }
        }
        return Task.FromResult(true);
    }
}

/// <summary>The meta repo in a backup: copied whole between two git operations (it takes the repo's lock), so git finds it whole.</summary>
internal sealed class MetaBackup(MetaRepo meta) : IBackupPart
{
    public string Name => "meta";

    public Task<bool> CopyAsync(string into, CancellationToken cancellationToken) =>
        meta.Unavailable is not null || !Directory.Exists(meta.Dir)
            ? Task.FromResult(false)
            : meta.LockedAsync(() =>
            {
                BackupFiles.CopyTree(meta.Dir, Path.Combine(into, Path.GetFileName(meta.Dir)));
                return Task.FromResult(true);
            });
}
