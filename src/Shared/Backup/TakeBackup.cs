using System.Globalization;
using FluentValidation;
using Hive.Contracts.Json;
using Hive.Shared.Data;
using Hive.Shared.Errors;
using MediatR;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace Hive.Shared.Backup;

/// <summary>
/// <c>POST /api/backup {to?}</c> (<c>hivectl backup [--to DIR]</c>): a backup of the running hive, as a data dir a host can
/// be started on. The database through SQLite's online backup API, one read snapshot of it whatever commits meanwhile (a
/// file copy of a live WAL database misses what sits in the WAL and may tear); then each slice's own files
/// (<see cref="IBackupPart"/>: secrets, the meta repo). The copy is checked (<c>PRAGMA integrity_check</c>) before the answer.
/// <para>
/// <c>to</c>: an absolute path that does not exist yet, outside the data dir (agents see parts of the data dir; a backup
/// holds every message and secret), whose parent does; without it, <c>&lt;DataDir&gt;/backups/&lt;UTC time&gt;</c>. Made 0700,
/// its files 0600. Nothing is left behind by a backup that fails.
/// </para>
/// </summary>
public static class TakeBackup
{
    public sealed record Command(string? To) : IRequest<Taken>;

    /// <summary>What was written: where, when the database's snapshot was taken, its size, and the parts beside it.</summary>
    public sealed record Taken(string Path, string TakenAt, long DatabaseBytes, string Integrity, IReadOnlyList<string> Parts);

    internal sealed class Validator : AbstractValidator<Command>
    {
        public Validator(HivePaths paths)
        {
            RuleFor(c => c.To).Must(to => ProblemWith(to!, paths) is null).When(c => c.To is not null)
                .WithMessage(c => ProblemWith(c.To!, paths)!);
        }

        private static string? ProblemWith(string to, HivePaths paths)
        {
            if (to.Length is 0 or > 4096 || to.Contains('\0')) return "to must be an absolute path of at most 4096 characters";
            if (!Path.IsPathRooted(to)) return $"to must be an absolute path, not {to}";
            var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(to));
            if (Inside(full, paths.DataDir) || Inside(paths.DataDir, full))
                return $"to must lie outside the data dir ({paths.DataDir}): leave it out for a backup in {Path.Combine(paths.DataDir, "backups")}";
            if (Path.Exists(full)) return $"{full} exists already: name a path that does not, the backup makes it";
            if (Path.GetDirectoryName(full) is not { } parent || !Directory.Exists(parent)) return $"{Path.GetDirectoryName(full)} does not exist: make it first";
            return null;
        }

        private static bool Inside(string path, string dir) =>
            path == dir || path.StartsWith(Path.TrimEndingDirectorySeparator(dir) + "/", StringComparison.Ordinal);
    }

    internal sealed class Handler(HivePaths paths, IDb db, IEnumerable<IBackupPart> parts, TimeProvider clock, ILogger<Handler> logger)
        : IRequestHandler<Command, Taken>
    {
        public async Task<Taken> Handle(Command command, CancellationToken cancellationToken)
        {
            var now = clock.GetUtcNow();
            string dir;
            if (command.To is { } to)
            {
                dir = Path.TrimEndingDirectorySeparator(Path.GetFullPath(to));
                // Made here, not checked and then made: two backups named alike cannot both have it.
                try
                {
                    if (Path.Exists(dir)) throw new ConflictException($"{dir} exists already: name a path that does not, the backup makes it");
                    Directory.CreateDirectory(dir, HivePaths.PrivateDir);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    throw new BadRequestException($"the backup cannot be made at {dir}: {e.Message}");
                }
            }
            else
            {
                var backups = Path.Combine(paths.DataDir, "backups");
                HivePaths.EnsurePrivateDirectory(backups);
                dir = Path.Combine(backups, now.UtcDateTime.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture));
                for (var n = 2; Path.Exists(dir); n++) dir = Path.Combine(backups, now.UtcDateTime.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture) + "-" + n);
            }
            HivePaths.EnsurePrivateDirectory(dir);
            try
            {
                var (bytes, integrity) = BackUpDatabase(Path.Combine(dir, "hive.db"));
                var copied = new List<string> { "database" };
                foreach (var part in parts)
                    if (await part.CopyAsync(dir, cancellationToken)) copied.Add(part.Name);
                logger.LogInformation("backup: the hive was backed up to {Dir} ({Parts})", dir, string.Join(", ", copied));
                return new Taken(dir, UtcTimestamp.Format(now), bytes, integrity, copied);
            }
            catch
            {
                Directory.Delete(dir, recursive: true);
                throw;
            }
        }

        /// <summary>SQLite's online backup into a new file (0600 before SQLite opens it), then checked; its size and the check's answer.</summary>
        private (long Bytes, string Integrity) BackUpDatabase(string target)
        {
            DatabaseFileModes.BeforeOpen(target);
            var targetConnection = new SqliteConnectionStringBuilder { DataSource = target, Pooling = false }.ToString();
            using (var source = db.Open())
            using (var copy = new SqliteConnection(targetConnection))
            {
                copy.Open();
                // One step over every page, under one read of the source: the copy is the database at one moment.
                source.BackupDatabase(copy);
            }
            string integrity;
            using (var check = new SqliteConnection(targetConnection))
            {
                check.Open();
                using var command = check.CreateCommand();
                command.CommandText = "PRAGMA integrity_check;";
                integrity = string.Join("; ", ReadAll(command));
            }
            if (integrity != "ok") throw new InvalidOperationException($"the backup's database failed its integrity check: {integrity}");
            foreach (var suffix in (string[])["-wal", "-shm"])
                if (File.Exists(target + suffix)) throw new InvalidOperationException($"the backup's database left {target}{suffix} behind");
            return (new FileInfo(target).Length, integrity);
        }

        private static List<string> ReadAll(SqliteCommand command)
        {
            var rows = new List<string>();
            using var reader = command.ExecuteReader();
            while (reader.Read()) rows.Add(reader.GetString(0));
            return rows;
        }
    }
}
