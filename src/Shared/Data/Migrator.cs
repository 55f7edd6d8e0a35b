using System.Reflection;
using System.Text.RegularExpressions;
using Dapper;
using Hive.Shared.Json;

namespace Hive.Shared.Data;

/// <summary>
/// Applies each feature's embedded <c>Migrations/NNNN_name.sql</c> scripts in order, one transaction per script,
/// and journals them in <c>schema_migrations</c>. Refuses a database that knows a version this code does not.
/// </summary>
public static partial class Migrator
{
    public sealed record Script(string Feature, int Version, string Name, string Sql);

    public static IReadOnlyList<Script> ScriptsOf(Assembly assembly)
    {
        var feature = FeatureName(assembly);
        return assembly.GetManifestResourceNames()
            .Select(resource => (resource, match: ScriptName().Match(resource)))
            .Where(x => x.match.Success)
            .Select(x =>
            {
                using var stream = assembly.GetManifestResourceStream(x.resource)!;
                using var reader = new StreamReader(stream);
                return new Script(feature, int.Parse(x.match.Groups[1].Value), x.match.Groups[2].Value, reader.ReadToEnd());
            })
            .OrderBy(s => s.Version)
            .ToList();
    }

    public static string FeatureName(Assembly assembly)
    {
        var name = assembly.GetName().Name!;
        return name.StartsWith("Hive.Features.", StringComparison.Ordinal) ? name["Hive.Features.".Length..] : name;
    }

    public static void Migrate(IDb db, IEnumerable<Assembly> assemblies, TimeProvider clock) =>
        Apply(db, assemblies.SelectMany(ScriptsOf), clock);

    /// <summary>Applies the scripts each feature has not applied yet, in version order.</summary>
    public static void Apply(IDb db, IEnumerable<Script> scripts, TimeProvider clock)
    {
        using var connection = db.Open();
        connection.Execute("""
            CREATE TABLE IF NOT EXISTS schema_migrations (
                feature    TEXT    NOT NULL,
                version    INTEGER NOT NULL,
                name       TEXT    NOT NULL,
                applied_at TEXT    NOT NULL,
                PRIMARY KEY (feature, version)
            );
            """);

        foreach (var feature in scripts.GroupBy(s => s.Feature))
        {
            var ordered = feature.OrderBy(s => s.Version).ToList();
            var applied = connection.QuerySingle<int>(
                "SELECT coalesce(max(version), 0) FROM schema_migrations WHERE feature = @feature", new { feature = feature.Key });
            var known = ordered[^1].Version;
            if (applied > known)
                throw new InvalidOperationException(
                    $"the database has {feature.Key} schema version {applied}, newer than this build knows ({known}); refusing to start");

            foreach (var script in ordered.Where(s => s.Version > applied))
            {
                // SQLite DDL is transactional: a script and its journal row land together or not at all.
                using var transaction = connection.BeginTransaction();
                connection.Execute(script.Sql, transaction: transaction);
                connection.Execute(
                    "INSERT INTO schema_migrations (feature, version, name, applied_at) VALUES (@Feature, @Version, @Name, @AppliedAt)",
                    new { script.Feature, script.Version, script.Name, AppliedAt = UtcTimestamp.Format(clock.GetUtcNow()) },
                    transaction);
                transaction.Commit();
            }
        }
    }

    [GeneratedRegex(@"\.Migrations\.(\d{4})_([a-z0-9_]+)\.sql$")]
    private static partial Regex ScriptName();
}
