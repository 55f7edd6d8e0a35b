using System.Data;
using Dapper;
using Hive.Contracts.Json;

namespace Hive.Shared.Data;

/// <summary>Dapper's global configuration: set once, before the first query, because Dapper caches its readers.</summary>
public static class DapperSetup
{
    private static int _configured;

    public static void Configure()
    {
        if (Interlocked.Exchange(ref _configured, 1) == 1) return;
        DefaultTypeMap.MatchNamesWithUnderscores = true;
        // Dapper maps DateTimeOffset parameters itself (to SQLite's "yyyy-MM-dd HH:mm:ss.fffffff+00:00") and consults a
        // handler only for types it has no mapping of its own for: without this, rows written through parameters and rows
        // written by the group-commit writer held two text forms of time in one column (see the migrations that normalise them).
        SqlMapper.RemoveTypeMap(typeof(DateTimeOffset));
        SqlMapper.RemoveTypeMap(typeof(DateTimeOffset?));
        SqlMapper.AddTypeHandler(typeof(DateTimeOffset), new UtcTimestampHandler());
        SqlMapper.AddTypeHandler(new GuidHandler());
        SqlMapper.AddTypeHandler(new JsonList.Handler());
        SqlMapper.AddTypeHandler(new JsonMap.Handler());
    }

    /// <summary>Lets rows read a JSON text column as <see cref="Json{T}"/> (once per <typeparamref name="T"/>; again is nothing).</summary>
    public static void AddJsonColumn<T>() => Json<T>.Register();

    /// <summary>
    /// Times are stored as the wire's text form, so they sort, compare and read back identically. An
    /// <see cref="SqlMapper.ITypeHandler"/> rather than a <c>TypeHandler&lt;DateTimeOffset&gt;</c>: Dapper gives the same
    /// handler the nullable type, and a NULL read as <c>DateTimeOffset?</c> must come back as null, not a cast error.
    /// </summary>
    private sealed class UtcTimestampHandler : SqlMapper.ITypeHandler
    {
        public void SetValue(IDbDataParameter parameter, object value)
        {
            parameter.DbType = DbType.String;
            parameter.Value = value is DateTimeOffset time ? UtcTimestamp.Format(time) : DBNull.Value;
        }

        public object? Parse(Type destinationType, object value) => value is DBNull ? null : UtcTimestamp.Parse((string)value);
    }

    private sealed class GuidHandler : SqlMapper.TypeHandler<Guid>
    {
        public override void SetValue(IDbDataParameter parameter, Guid value) => parameter.Value = value;
        public override Guid Parse(object value) => Guid.Parse((string)value);
    }
}
