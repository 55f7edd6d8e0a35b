using System.Collections;
using System.Data;
using System.Text.Json;
using Dapper;

namespace Hive.Shared.Data;

/// <summary>
/// A list of strings held in one column as JSON text. Its own type, so Dapper's handler is chosen by it alone: a handler
/// for a list type itself would also catch the lists that <c>IN @names</c> expands.
/// </summary>
public sealed class JsonList(IEnumerable<string> items) : IReadOnlyList<string>
{
    private readonly IReadOnlyList<string> _items = items.ToArray();

    public static JsonList Empty { get; } = new([]);

    public string this[int index] => _items[index];
    public int Count => _items.Count;
    public IEnumerator<string> GetEnumerator() => _items.GetEnumerator();
    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    internal sealed class Handler : SqlMapper.TypeHandler<JsonList>
    {
        public override void SetValue(IDbDataParameter parameter, JsonList? value)
        {
            parameter.DbType = DbType.String;
            parameter.Value = value is null ? DBNull.Value : JsonSerializer.Serialize(value._items);
        }

        public override JsonList Parse(object value) => new(JsonSerializer.Deserialize<string[]>((string)value) ?? []);
    }
}

/// <summary>A map of strings to strings held in one column as JSON text (see <see cref="JsonList"/> for why a type of its own).</summary>
public sealed class JsonMap(IEnumerable<KeyValuePair<string, string>> entries) : IReadOnlyDictionary<string, string>
{
    private readonly Dictionary<string, string> _entries = new(entries, StringComparer.Ordinal);

    public static JsonMap Empty { get; } = new([]);

    public string this[string key] => _entries[key];
    public IEnumerable<string> Keys => _entries.Keys;
    public IEnumerable<string> Values => _entries.Values;
    public int Count => _entries.Count;
    public bool ContainsKey(string key) => _entries.ContainsKey(key);
    public bool TryGetValue(string key, [System.Diagnostics.CodeAnalysis.MaybeNullWhen(false)] out string value) => _entries.TryGetValue(key, out value);
    public IEnumerator<KeyValuePair<string, string>> GetEnumerator() => _entries.GetEnumerator();
    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    internal sealed class Handler : SqlMapper.TypeHandler<JsonMap>
    {
        public override void SetValue(IDbDataParameter parameter, JsonMap? value)
        {
            parameter.DbType = DbType.String;
            parameter.Value = value is null ? DBNull.Value : JsonSerializer.Serialize(value._entries);
        }

        public override JsonMap Parse(object value) => new(JsonSerializer.Deserialize<Dictionary<string, string>>((string)value) ?? []);
    }
}

/// <summary>
/// A column of JSON text read as a <typeparamref name="T"/> (with <see cref="Hive.Contracts.Json.HiveJson.Options"/>): a row
/// declares its column as <c>Json&lt;T&gt;</c> and reads <see cref="Value"/>; a NULL column stays null. Its own type for
/// the reason <see cref="JsonList"/> is one. Dapper has no open generic handlers, so a slice registers each of its
/// <typeparamref name="T"/>s once with <see cref="DapperSetup.AddJsonColumn{T}"/> when its services are added (before any
/// query: Dapper caches its readers). Written as its JSON text when a row is (<see cref="Of"/>).
/// </summary>
public sealed class Json<T>
{
    private static int _registered;

    private Json(T? value) => Value = value;

    /// <summary>What the text says: default when it is the JSON <c>null</c>.</summary>
    public T? Value { get; }

    /// <summary>A value to write; null stays a NULL column.</summary>
    public static Json<T>? Of(T? value) => value is null ? null : new(value);

    internal static void Register()
    {
        if (Interlocked.Exchange(ref _registered, 1) == 0) SqlMapper.AddTypeHandler(new Handler());
    }

    private sealed class Handler : SqlMapper.TypeHandler<Json<T>>
    {
        public override void SetValue(IDbDataParameter parameter, Json<T>? value)
        {
            parameter.DbType = DbType.String;
            parameter.Value = value is { Value: not null } ? JsonSerializer.Serialize(value.Value, Hive.Contracts.Json.HiveJson.Options) : DBNull.Value;
        }

        public override Json<T> Parse(object value) => new(JsonSerializer.Deserialize<T>((string)value, Hive.Contracts.Json.HiveJson.Options));
    }
}
