using System.Reflection;
using System.Text.RegularExpressions;
using Dapper;
using Hive.Contracts.Json;
using Microsoft.Data.Sqlite;

namespace Hive.Shared.Data;

/// <summary>
/// A migration that needs code, e.g. adding a column only when <c>pragma table_info</c> says it is missing, so a
/// database that already has it (an older build added it without journaling) and a fresh one converge.
/// Put it in the feature's <c>Migrations/</c> folder beside the SQL scripts; it needs a parameterless constructor.
/// </summary>
public interface ICodeMigration
{
    int Version { get; }
    string Name { get; }
    void Apply(SqliteConnection connection, SqliteTransaction transaction);
}

/// <summary>
/// Applies each feature's migrations in version order — embedded <c>Migrations/NNNN_name.sql</c> scripts and
/// <see cref="ICodeMigration"/> classes — one transaction per migration, journaled in <c>schema_migrations</c>.
/// Refuses a database that knows a version this code does not.
/// </summary>
public static partial class Migrator
{
    public sealed record Script(string Feature, int Version, string Name, string? Sql, ICodeMigration? Code = null);

    public static IReadOnlyList<Script> ScriptsOf(Assembly assembly)
    {
        var feature = FeatureName(assembly);
        var sql = assembly.GetManifestResourceNames()
            .Select(resource => (resource, match: ScriptName().Match(resource)))
            .Where(x => x.match.Success)
            .Select(x =>
            {
                using var stream = assembly.GetManifestResourceStream(x.resource)!;
                using var reader = new StreamReader(stream);
                return new Script(feature, int.Parse(x.match.Groups[1].Value), x.match.Groups[2].Value, reader.ReadToEnd());
            });
        var code = assembly.GetTypes()
            .Where(t => t is { IsAbstract: false, IsInterface: false } && typeof(ICodeMigration).IsAssignableFrom(t))
            .Select(t => (ICodeMigration)Activator.CreateInstance(t, nonPublic: true)!)
            .Select(m => new Script(feature, m.Version, m.Name, null, m));
        var all = sql.Concat(code).OrderBy(s => s.Version).ToList();
        var duplicate = all.GroupBy(s => s.Version).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
            throw new InvalidOperationException($"{feature} has two migrations numbered {duplicate.Key}");
        return all;
    }

    public static string FeatureName(Assembly assembly)
    {
        var name = assembly.GetName().Name!;
        return name.StartsWith("Hive.Features.", StringComparison.Ordinal) ? name["Hive.Features.".Length..] : name;
    }

    public static void Migrate(IDb db, IEnumerable<Assembly> assemblies, TimeProvider clock) =>
        Apply(db, assemblies.SelectMany(ScriptsOf), clock);

    /// <summary>Applies the migrations each feature has not applied yet, in version order.</summary>
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
                // SQLite DDL is transactional: a migration and its journal row land together or not at all.
                using var transaction = connection.BeginTransaction();
                if (script.Code is { } code) code.Apply(connection, transaction);
                else connection.Execute(script.Sql!, transaction: transaction);
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

/// <summary>Schema questions a code migration asks before it changes anything.</summary>
public static class SchemaProbe
{
    public static bool HasColumn(SqliteConnection connection, SqliteTransaction transaction, string table, string column) =>
        connection.Query<string>("SELECT name FROM pragma_table_info(@table)", new { table }, transaction)
            .Contains(column, StringComparer.OrdinalIgnoreCase);

    /// <summary>ALTER TABLE ... ADD COLUMN, unless <c>pragma table_info</c> shows the column already exists.</summary>
    public static void AddColumnIfMissing(SqliteConnection connection, SqliteTransaction transaction, string table, string column, string definition)
    {
        if (HasColumn(connection, transaction, table, column)) return;
        // Identifiers cannot be parameters; these come from migration code, never from input.
        connection.Execute($"ALTER TABLE {table} ADD COLUMN {column} {definition}", transaction: transaction);
    }
}
