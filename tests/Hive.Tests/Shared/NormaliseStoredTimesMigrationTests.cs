using Dapper;
using Hive.Host;
using Hive.Shared.Data;
using Microsoft.Data.Sqlite;

namespace Hive.Tests.Shared;

/// <summary>
/// A database written before session 5 holds times in two text forms; the <c>normalise_stored_times</c> migrations rewrite
/// the old one (SQLite's, from Dapper parameters) into the wire form, at the same instant, and leave wire-form values alone.
/// </summary>
public sealed class NormaliseStoredTimesMigrationTests : IDisposable
{
    private const string Normalise = "normalise_stored_times";
    private const string OldForm = "2026-11-22 18:00:00.1234567+00:00";
    private const string OtherOffset = "2026-11-22 20:30:00.5+02:00"; // an instant written with an offset comes out in UTC
    private const string WireForm = "2026-11-22T09:15:00.250Z";

    private readonly string _path = Path.Combine(Path.GetTempPath(), $"hive-times-{Guid.NewGuid():N}.db");

    [Fact]
    public void Old_form_times_are_rewritten_to_the_wire_form_and_wire_form_ones_are_kept()
    {
        DapperSetup.Configure();
        var db = new SqliteDb(_path, "NORMAL");
        db.EnableWriteAheadLog();
        var scripts = HiveFeatures.Assemblies.SelectMany(Migrator.ScriptsOf).ToList();
        Assert.Equal(5, scripts.Count(s => s.Name == Normalise)); // every feature that stores times has one
        // The database as a host before the normalisation left it: each feature's scripts up to, not including, that one.
        var normaliseAt = scripts.Where(s => s.Name == Normalise).ToDictionary(s => s.Feature, s => s.Version);
        Migrator.Apply(db, scripts.Where(s => !normaliseAt.TryGetValue(s.Feature, out var at) || s.Version < at), TimeProvider.System);

        using (var connection = db.Open())
        {
            connection.Execute("""
                INSERT INTO messages (sender, recipient, body, sent_at, delivered_at, in_flight_until) VALUES ('alice', 'bob', 'm', @OldForm, @OtherOffset, @WireForm);
                INSERT INTO reminders (agent, body, due_at, created_at) VALUES ('alice', 'r', @OldForm, @WireForm);
                INSERT INTO questions (asker, question, asked_at, expires_at) VALUES ('alice', 'q', @OldForm, @OtherOffset);
                INSERT INTO turns (agent, recorded_at, result_kind, started_at, ended_at, duration_ms, input_tokens, output_tokens,
                                   cache_read_tokens, cache_creation_tokens, tool_call_count, tools)
                    VALUES ('alice', @OldForm, 'ok', @OtherOffset, @WireForm, 1, 0, 0, 0, 0, 0, '{}');
                INSERT INTO agents (name, kind, driver, origin, desired, state, started_at, created_at)
                    VALUES ('alice', 'agent', 'external', 'api', 'running', 'running', @OtherOffset, @OldForm);
                INSERT INTO tombstones (name, destroyed_at) VALUES ('carol', @OldForm);
                """, new { OldForm, OtherOffset, WireForm });
        }

        Migrator.Apply(db, scripts, TimeProvider.System);

        using var check = db.Open();
        const string old = "2026-11-22T18:00:00.123Z", other = "2026-11-22T18:30:00.500Z";
        Assert.Equal((old, other, WireForm), check.QuerySingle<(string, string, string)>("SELECT sent_at, delivered_at, in_flight_until FROM messages"));
        Assert.Equal((old, WireForm), check.QuerySingle<(string, string)>("SELECT due_at, created_at FROM reminders"));
        Assert.Equal((old, other), check.QuerySingle<(string, string)>("SELECT asked_at, expires_at FROM questions"));
        Assert.Equal((old, other, WireForm), check.QuerySingle<(string, string, string)>("SELECT recorded_at, started_at, ended_at FROM turns"));
        Assert.Equal((other, old), check.QuerySingle<(string, string)>("SELECT started_at, created_at FROM agents"));
        Assert.Equal(old, check.QuerySingle<string>("SELECT destroyed_at FROM tombstones"));
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        foreach (var path in new[] { _path, _path + "-wal", _path + "-shm" }) File.Delete(path);
    }
}
