namespace Hive.Shared.Errors;

/// <summary>
/// A start-up the host refuses (a configuration, a data dir held by another host, storage it cannot use): its message
/// is the one line the operator is shown (<c>hive: &lt;message&gt;</c>, exit code 1, no stack trace). Name the path.
/// </summary>
public class HiveStartupException(string message, Exception? inner = null) : Exception(message, inner);
