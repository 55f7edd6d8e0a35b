using Dapper;
using Hive.Shared.Data;
using Microsoft.Data.Sqlite;

namespace Hive.Tests.Architecture;

/// <summary>
/// Rule 2, table ownership, computed from the real schema. Each feature's migrations are applied to a fresh database
/// in dependency order, and every object that appears in <c>sqlite_master</c> (table, index, trigger, view) belongs
/// to the feature whose migrations created it; the migrator's own <c>schema_migrations</c> belongs to the kernel. So
/// <c>.sql</c> scripts, code migrations, triggers and quoted names all count, as SQLite itself sees them.
/// Then no feature may:
/// <list type="bullet">
/// <item>create an index or trigger ON another feature's table, or an object whose SQL (a trigger's body, a view, a
/// foreign key) names another feature's table;</item>
/// <item>change or drop another feature's object in its migrations (an ALTER TABLE ... ADD COLUMN in a code
/// migration rewrites that table's <c>sql</c>);</item>
/// <item>name another feature's table in SQL anywhere in its source (<c>.cs</c> and <c>.sql</c>, comments aside).</item>
/// </list>
/// </summary>
internal static class TableOwnershipRule
{
    /// <summary>The assembly that owns the migrator's journal.</summary>
    public const string Kernel = "Hive.Shared";

    /// <summary>One hive assembly: its migrations (as the migrator runs them) and its source files (path, text).</summary>
    public sealed record Feature(string Name, IReadOnlyList<Migrator.Script> Migrations, IReadOnlyList<(string Path, string Text)> Sources);

    public sealed record SchemaObject(string Type, string Name, string Table, string? Sql, string Owner);

    public sealed record Result(IReadOnlyList<SchemaObject> Schema, IReadOnlyList<string> Violations);

    public static Result Check(IReadOnlyList<Feature> features)
    {
        var (schema, violations) = MigrateFeatureByFeature(features);
        var tables = schema
            .Where(o => o.Type is "table" or "view")
            .ToDictionary(o => o.Name, o => o.Owner, StringComparer.OrdinalIgnoreCase);
        string? OtherOwner(string table, string feature) =>
            tables.TryGetValue(table, out var owner) && owner != feature ? owner : null;

        foreach (var o in schema)
        {
            if (OtherOwner(o.Table, o.Owner) is { } tableOwner)
                violations.Add($"{o.Owner}: {o.Type} {o.Name} is ON {o.Table}, a table of {tableOwner}");
            foreach (var use in SqlTableNames.In(o.Sql ?? "").DistinctBy(u => u.Name.ToLowerInvariant()))
                if (!use.Name.Equals(o.Table, StringComparison.OrdinalIgnoreCase) && OtherOwner(use.Name, o.Owner) is { } owner)
                    violations.Add($"{o.Owner}: {o.Type} {o.Name} names {use.Name}, a table of {owner}, in its SQL");
        }

        foreach (var feature in features)
            foreach (var (path, text) in feature.Sources)
                foreach (var use in SqlTableNames.In(SqlTableNames.WithoutComments(text, isSql: path.EndsWith(".sql", StringComparison.OrdinalIgnoreCase))))
                    if (OtherOwner(use.Name, feature.Name) is { } owner)
                        violations.Add($"{feature.Name}: {path}:{use.Line} names {use.Name}, a table of {owner}, in SQL");

        return new Result(schema, violations);
    }

    /// <summary>Applies the journal, then each feature's migrations, attributing each new <c>sqlite_master</c> object.</summary>
    private static (List<SchemaObject> Schema, List<string> Violations) MigrateFeatureByFeature(IReadOnlyList<Feature> features)
    {
        var path = Path.Combine(Path.GetTempPath(), $"hive-arch-{Guid.NewGuid():N}.db");
        var db = new SqliteDb(path, "NORMAL");
        var schema = new List<SchemaObject>();
        var violations = new List<string>();
        try
        {
            var steps = new List<(string Owner, IReadOnlyList<Migrator.Script> Scripts)> { (Kernel, []) }; // [] still creates the journal
            steps.AddRange(features.Select(f => (f.Name, f.Migrations)));
            foreach (var (owner, scripts) in steps)
            {
                var before = Master(db);
                Migrator.Apply(db, scripts, TimeProvider.System);
                var after = Master(db);
                foreach (var (key, o) in after.Where(x => !before.ContainsKey(x.Key)))
                    schema.Add(new SchemaObject(key.Type, key.Name, o.Table, o.Sql, owner));
                foreach (var (key, o) in before)
                {
                    var ownerOfObject = schema.Single(s => s.Type == key.Type && s.Name == key.Name).Owner;
                    if (ownerOfObject == owner) continue;
                    if (!after.TryGetValue(key, out var now))
                        violations.Add($"{owner}: its migrations drop {key.Type} {key.Name} of {ownerOfObject}");
                    else if (now.Sql != o.Sql)
                        violations.Add($"{owner}: its migrations change {key.Type} {key.Name} of {ownerOfObject}");
                }
            }
            return (schema, violations);
        }
        finally
        {
            using (var connection = db.Open()) SqliteConnection.ClearPool(connection);
            foreach (var file in new[] { path, path + "-wal", path + "-shm", path + "-journal" }) File.Delete(file);
        }
    }

    /// <summary><c>sqlite_master</c> by (type, name), SQLite's own objects (<c>sqlite_sequence</c>, autoindexes) left out.</summary>
    private static Dictionary<(string Type, string Name), (string Table, string? Sql)> Master(IDb db)
    {
        using var connection = db.Open();
        return connection.Query<(string Type, string Name, string Table, string? Sql)>(
                "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\'")
            .ToDictionary(o => (o.Type, o.Name), o => (o.Table, o.Sql));
    }
}
