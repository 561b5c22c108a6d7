# The Python side of @azr/executor's Python executor, loaded once into each Pyodide interpreter, into a
# namespace of its own (not __main__), which no program can name.
#
# Every call returns one status string, the same protocol as the JavaScript sandbox:
#   o<canonical value>   n<first>\0<second> (nondeterministic)   r<message> (refused by the encoder)
#   x<message> (the program raised)   p<message> (policy)   s<message> (syntax)   t<message> (interrupted)
#
# Three layers, from the program outwards:
#   1. Programs run with their own builtins: imports limited to an allow-list of pure modules, and no file,
#      input, code-from-strings or introspection builtins. Python's introspection gets past this layer (the
#      real `sys` is one attribute away: `typing.sys`), so it only keeps honest programs honest.
#   2. An audit hook, installed before any program runs and impossible to remove, refuses what reaches past the
#      interpreter or into the harness: frames (sys._getframe, tb_frame, gi_frame...), the garbage collector's
#      object lists, new audit hooks, tracing, files, processes, code objects built by hand, and imports of
#      modules outside the allow-list. A refused event makes the call's verdict `policy`, even when the
#      program catches the exception.
#   3. After every call, the interpreter-wide state a program can reach is compared with a record taken at
#      start-up and put back where it differs (every module's namespace, the containers they hold, every
#      class's namespace, sys.modules, builtins, the import machinery, sys and gc settings, atexit, codec error
#      handlers); then compared again. The worker replaces an interpreter whose state does not verify.
# Beneath all this, the worker process has no file writes, no child processes and no native addons (Node's
# permission model), and is killed on a deadline.

import ast
import atexit
import builtins
import contextvars
import gc
import math
import sys
from operator import is_, ne

ALLOWED_MODULES = frozenset({
    'abc', 'array', 'bisect', 'cmath', 'collections', 'collections.abc', 'copy', 'dataclasses', 'decimal',
    'enum', 'fractions', 'functools', 'heapq', 'itertools', 'json', 'keyword', 'math', 'numbers', 'operator',
    're', 'statistics', 'string', 'textwrap', 'typing', 'unicodedata',
})

REMOVED_BUILTINS = frozenset({
    'open', 'input', 'exec', 'eval', 'compile', 'breakpoint', 'help', 'exit', 'quit', 'globals', 'locals',
    'vars', 'dir', 'memoryview', 'copyright', 'credits', 'license', '__loader__', '__spec__',
})


class PolicyViolation(Exception):
    pass


class Refused(Exception):
    pass


# The import function programs get. It is the one harness function a program holds, so it is built in a
# namespace of its own: its __globals__ lead to nothing but the real import (reachable anyway) and the list.
_IMPORT_SOURCE = '''
def __import__(name, globals=None, locals=None, fromlist=(), level=0):
    if level != 0:
        raise PolicyViolation('relative imports are not available in the sandbox')
    if name not in ALLOWED:
        raise PolicyViolation(f'the module {name!r} is not available in the sandbox')
    return real_import(name, None, None, fromlist, 0)
'''
_import_namespace = {
    '__builtins__': {}, 'real_import': builtins.__import__, 'ALLOWED': ALLOWED_MODULES,
    'PolicyViolation': PolicyViolation,
}
exec(compile(_IMPORT_SOURCE, '<sandbox import>', 'exec'), _import_namespace)
_guarded_import = _import_namespace['__import__']
del _import_namespace


def _program_builtins():
    table = {key: value for key, value in vars(builtins).items() if key not in REMOVED_BUILTINS}
    table['__import__'] = _guarded_import
    return table


# --- the audit hook ----------------------------------------------------------------------------------------
#
# Allowed events, once the harness has locked the hook (before the first program). Everything else is refused:
# an allow-list, so that an event this list forgot is refused rather than let through.
_ALLOWED_EVENTS = frozenset({
    'builtins.id', 'exec', 'compile', 'array.__new__', 'sys._getframemodulename', 'object.__setattr__',
    'object.__delattr__', 'sys.unraisablehook', 'sys.excepthook', 'function.__new__', 're.compile',
})
# Of the attributes whose reading is an audit event, the ones that lead to frames (and so to the harness's
# locals and globals). Code objects and defaults are safe to read: building code is `code.__new__`, refused.
_FRAME_ATTRIBUTES = frozenset({'tb_frame', 'gi_frame', 'cr_frame', 'ag_frame', 'gi_suspended', 'f_back'})


def _make_hook():
    locked = []
    violations = []
    trusted = []  # non-empty only around the harness's own calls of gc.get_objects, which run no program code

    def hook(event, args):
        if not locked or trusted or event in _ALLOWED_EVENTS:
            return
        if event == 'import':
            if args[0] in ALLOWED_MODULES:
                return
        elif event == 'object.__getattr__':
            if len(args) > 1 and args[1] not in _FRAME_ATTRIBUTES:
                return
        elif event == 'open':
            # The compiler looks for the source of a syntax error under the program's pseudo file name.
            if isinstance(args[0], str) and args[0].startswith('<') and args[0].endswith('>'):
                return
        if len(violations) < 16:
            violations.append(event if event != 'object.__getattr__' else f'{event} {args[1]!r}')
        raise PolicyViolation(f'the sandbox does not allow {event}')

    return hook, locked, violations, trusted


_hook, _locked, _violations, _trusted = _make_hook()
del _make_hook


def _violation_status():
    return 'p' + f'the program reached past the sandbox ({_violations[0]})'
# --- canonical encoding (the same format as @azr/core's encodeCanonical) -------------------------------

class Refused(Exception):
    pass


def _encode_string(text):
    out = ['"']
    for character in text:
        code = ord(character)
        if character == '"':
            out.append('\\"')
        elif character == '\\':
            out.append('\\\\')
        elif code < 0x20:
            out.append({8: '\\b', 9: '\\t', 10: '\\n', 12: '\\f', 13: '\\r'}.get(code) or '\\u%04x' % code)
        elif 0xD800 <= code <= 0xDFFF:
            out.append('\\u%04x' % code)
        else:
            out.append(character)
    out.append('"')
    return ''.join(out)


def _encode_float(value):
    if math.isnan(value):
        return 'NaN'
    if math.isinf(value):
        return 'Infinity' if value > 0 else '-Infinity'
    if value == 0:
        return '-0' if math.copysign(1.0, value) < 0 else '0'
    if value.is_integer():
        return str(int(value))
    # The shortest round-trip digits (Python's repr and JavaScript agree on them), laid out as JavaScript's
    # Number.prototype.toString does: plain notation for exponents in [-7, 21), scientific otherwise.
    text = repr(abs(value))
    mantissa, _, exponent_text = text.partition('e')
    exponent = int(exponent_text) if exponent_text else 0
    whole, _, fraction = mantissa.partition('.')
    digits = (whole + fraction).lstrip('0')
    point = len(whole) + exponent if whole != '0' else exponent - (len(fraction) - len(fraction.lstrip('0')))
    digits = digits.rstrip('0') or '0'
    sign = '-' if value < 0 else ''
    if -6 < point <= 21:
        if point <= 0:
            return f'{sign}0.{"0" * -point}{digits}'
        if point >= len(digits):
            return f'{sign}{digits}{"0" * (point - len(digits))}'
        return f'{sign}{digits[:point]}.{digits[point:]}'
    exponent_out = point - 1
    mantissa_out = digits[0] + ('.' + digits[1:] if len(digits) > 1 else '')
    return f'{sign}{mantissa_out}e{"+" if exponent_out >= 0 else "-"}{abs(exponent_out)}'


def _encoder(limits):
    """Encodes one value. Closures, not a class: a class of the harness would be one of object's subclasses,
    and its methods' __globals__ would lead a program into the harness."""
    max_depth = limits['maxDepth']
    max_nodes = limits['maxNodes']
    max_length = limits['maxLength']
    totals = [0, 0]  # nodes, length
    ancestors = set()

    def count(text):
        totals[1] += len(text)
        if totals[1] > max_length:
            raise Refused(f'the value is longer than {max_length} characters when encoded')
        return text

    def encode(value, depth=0):
        totals[0] += 1
        if totals[0] > max_nodes:
            raise Refused(f'the value has more than {max_nodes} parts')
        if value is None:
            return count('null')
        if value is True:
            return count('true')
        if value is False:
            return count('false')
        kind = type(value)
        if kind is int or (isinstance(value, int) and not isinstance(value, bool)):
            return count(str(int(value)))
        if isinstance(value, float):
            return count(_encode_float(float(value)))
        if isinstance(value, str):
            if len(value) > max_length:
                raise Refused(f'the value is longer than {max_length} characters when encoded')
            return count(_encode_string(value))
        if isinstance(value, complex):
            return count(f'Complex({_encode_float(value.real)},{_encode_float(value.imag)})')
        if isinstance(value, (bytes, bytearray)):
            if len(value) > max_nodes:
                raise Refused(f'the value has more than {max_nodes} parts')
            return count('Bytes[' + ','.join(str(byte) for byte in value) + ']')
        identity = id(value)
        if identity in ancestors:
            raise Refused('the value contains a reference to itself')
        if depth >= max_depth:
            raise Refused(f'the value is nested deeper than {max_depth} levels')
        ancestors.add(identity)
        try:
            return encode_container(value, depth + 1)
        finally:
            ancestors.discard(identity)

    def items(values, depth):
        parts = []
        for item in values:
            parts.append(encode(item, depth))
            totals[1] += 1
        return parts

    def encode_container(value, depth):
        if isinstance(value, list):
            return count('[]') and '[' + ','.join(items(value, depth)) + ']'
        if isinstance(value, tuple):
            return count('Tuple[]') and 'Tuple[' + ','.join(items(value, depth)) + ']'
        if isinstance(value, dict):
            entries = []
            for key, item in value.items():
                entries.append(encode(key, depth) + '=>' + encode(item, depth))
                totals[1] += 3
            return count('Map{}') and 'Map{' + ','.join(sorted(entries)) + '}'
        if isinstance(value, (set, frozenset)):
            members = sorted(set(items(value, depth)))
            return count('Set[]') and 'Set[' + ','.join(members) + ']'
        if isinstance(value, range):
            return count(f'Range({value.start},{value.stop},{value.step})')
        if isinstance(value, BaseException):
            message = str(value.args[0]) if len(value.args) == 1 else str(value)
            return count(f'Error({_encode_string(type(value).__name__)},{_encode_string(message)})')
        if callable(value) and hasattr(value, '__name__'):
            return count(f'Function({_encode_string(str(value.__name__))})')
        name = type(value).__name__
        if not name.isidentifier():
            name = 'Object'
        fields = getattr(value, '__dict__', None)
        if isinstance(fields, dict):
            properties = []
            for key in sorted(key for key in fields if isinstance(key, str)):
                properties.append(count(_encode_string(key)) + ':' + encode(fields[key], depth))
                totals[1] += 2
            return count(name + '{}') and name + '{' + ','.join(properties) + '}'
        # Values without fields (iterators, generators, modules): their type is all that is stable.
        return count(name + '{}')

    return encode


def _encode(value, limits):
    try:
        return 'o' + _encoder(limits)(value)
    except Refused as refusal:
        return 'r' + str(refusal)
    except RecursionError:
        return 'r' + 'the value is nested too deeply to encode'

# --- one known state: recorded at start-up, verified and put back after every call -------------------------

_PY_TPFLAGS_HEAPTYPE = 1 << 9
_MONITORING_TOOLS = range(6)
_ERROR_HANDLERS = (
    'strict', 'ignore', 'replace', 'backslashreplace', 'xmlcharrefreplace', 'namereplace', 'surrogateescape',
    'surrogatepass',
)
_dict_values = dict.values


def _heap_types():
    seen = set()
    found = []
    stack = [object]
    while stack:
        try:
            subclasses = type.__subclasses__(stack.pop())
        except TypeError:
            continue
        for subclass in subclasses:
            if id(subclass) not in seen:
                seen.add(id(subclass))
                found.append(subclass)
                stack.append(subclass)
    return [cls for cls in found if cls.__flags__ & _PY_TPFLAGS_HEAPTYPE]


def _settings():
    """Interpreter-wide settings kept outside any namespace: numbers, compared by value."""
    return (
        sys.getrecursionlimit(), sys.get_int_max_str_digits(), sys.getswitchinterval(), gc.get_threshold(), gc.get_debug(), atexit._ncallbacks(), sys.get_coroutine_origin_tracking_depth(),
        _decimal_settings(),
    )


def _hooks():
    """Interpreter-wide hooks kept outside any namespace: objects, compared by identity."""
    firstiter, finalizer = sys.get_asyncgen_hooks()
    monitoring = sys.monitoring
    return (
        (firstiter, finalizer, sys.gettrace(), sys.getprofile())
        + tuple(monitoring.get_tool(tool) for tool in _MONITORING_TOOLS)
        + tuple(_lookup_error(name) for name in _ERROR_HANDLERS)
    )


def _decimal_settings():
    import_decimal = sys.modules.get('decimal')
    if import_decimal is None:
        return ()
    return tuple(repr(context) for context in (
        import_decimal.DefaultContext, import_decimal.BasicContext, import_decimal.ExtendedContext))


# The modules programs use: the allowed ones with their private parts, and the modules the interpreter itself
# runs on. Their state is verified after every call; the rest of sys.modules whenever a call looked touched.
_CORE_EXTRA = (
    'builtins', 'sys', 'gc', 'atexit', '__main__', 'importlib._bootstrap', 'importlib._bootstrap_external',
    'abc', '_abc', '_collections_abc', 'copyreg', 'types', 'enum', 'functools', 'operator', 'reprlib',
    'weakref', '_weakrefset', 'contextlib', 'warnings', 'codecs', 'encodings',
)


def _core_modules():
    found = {}
    for name, module in list(sys.modules.items()):
        root = name.lstrip('_').split('.')[0]
        if module is not None and (name in _CORE_EXTRA or root in ALLOWED_MODULES or name.split('.')[0] in ALLOWED_MODULES):
            found[name] = module
    return found


def _take_record(modules, exclude_main_keys):
    """The state of the given modules: their namespaces, the containers those hold (and the attributes of the
    objects they hold), and the namespaces of the classes they define."""
    dicts = []       # plain dicts: module namespaces, the dicts they hold, class namespaces (the real dict)
    owners = []      # for class namespaces the class (put back through setattr), else None
    lists = []
    seen = set()

    def add_dict(value, owner=None):
        if id(value) not in seen:
            seen.add(id(value))
            dicts.append(value)
            owners.append(owner)

    def add_container(value):
        kind = type(value)
        if kind is dict or (isinstance(value, dict) and kind.__module__ in ('collections', 'builtins')):
            add_dict(value)
        elif kind is list and id(value) not in seen:
            seen.add(id(value))
            lists.append(value)

    for module in modules.values():
        namespace = getattr(module, '__dict__', None)
        if type(namespace) is not dict:
            continue
        add_dict(namespace)
        for value in list(namespace.values()):
            add_container(value)
            # Objects a module keeps in its namespace (json's default encoder): their attributes too.
            fields = getattr(value, '__dict__', None) if not isinstance(value, type) else None
            if type(fields) is dict and type(value).__flags__ & _PY_TPFLAGS_HEAPTYPE:
                add_dict(fields)
    for cls in _heap_types():
        if getattr(cls, '__module__', None) not in modules:
            continue
        referents = gc.get_referents(cls.__dict__)
        if len(referents) == 1 and type(referents[0]) is dict:
            add_dict(referents[0], cls)
            for value in list(referents[0].values()):
                add_container(value)
    record = SimpleNamespace()
    record.dicts = dicts
    record.owners = owners
    record.saved_dicts = [dict(value) for value in dicts]
    main = sys.modules['__main__'].__dict__
    for saved, live in zip(record.saved_dicts, dicts):
        if live is main:
            for key in exclude_main_keys:
                saved.pop(key, None)
    record.keys = [list(saved) for saved in record.saved_dicts]
    record.values = [list(saved.values()) for saved in record.saved_dicts]
    record.lists = lists
    record.saved_lists = [list(value) for value in lists]
    record.settings = _settings()
    record.hooks = _hooks()
    record.modules = sys.modules
    record.freeze_count = 0
    record.gc_enabled = gc.isenabled()
    record.size = sum(map(len, record.keys)) + sum(map(len, record.saved_lists))
    return record


def _differs(record):
    """Whether any recorded state differs from the record, in C loops. Lists compare items by identity first
    and by == only where they differ, and no object of the program is left to answer == by then (_survivors
    is checked first), so a changed entry cannot pass as unchanged."""
    return (
        list(map(list, record.dicts)) != record.keys
        or list(map(list, map(_dict_values, record.dicts))) != record.values
        or record.lists != record.saved_lists
        or _settings() != record.settings
        or not all(map(is_, _hooks(), record.hooks))
        or sys.modules is not record.modules
    )


def _survivors():
    """Whether any object the program made is still alive (kept somewhere after the collection)."""
    _trusted.append(True)
    try:
        return bool(gc.get_objects(0) or gc.get_objects(1) or gc.get_objects(2))
    finally:
        _trusted.pop()


def _restore_class(cls, saved):
    current = cls.__dict__
    for key in [key for key in current if key not in saved]:
        try:
            delattr(cls, key)
        except (AttributeError, TypeError):
            pass
    for key, value in saved.items():
        if current.get(key, _MISSING) is not value:
            try:
                setattr(cls, key, value)
            except (AttributeError, TypeError):
                pass


_MISSING = object()


def _restore(record):
    for live, saved, owner in zip(record.dicts, record.saved_dicts, record.owners):
        if len(live) != len(saved) or not all(map(is_, _dict_values(live), _dict_values(saved))) or not all(
                map(is_, live, saved)):
            if owner is None:
                live.clear()
                live.update(saved)
            else:
                _restore_class(owner, saved)
    for live, saved in zip(record.lists, record.saved_lists):
        if len(live) != len(saved) or not all(map(is_, live, saved)):
            live[:] = saved
    # Only what differs is set: the setters of hooks are audited events themselves.
    settings = _settings()
    limit, digits, interval, threshold, debug = record.settings[:5]
    if settings[:5] != record.settings[:5]:
        sys.setrecursionlimit(limit)
        sys.set_int_max_str_digits(digits)
        sys.setswitchinterval(interval)
        gc.set_threshold(*threshold)
        gc.set_debug(debug)
    if settings[6] != record.settings[6]:
        sys.set_coroutine_origin_tracking_depth(record.settings[6])
    hooks = record.hooks
    current = _hooks()
    for tool in _MONITORING_TOOLS:
        if current[4 + tool] is not hooks[4 + tool]:
            sys.monitoring.free_tool_id(tool)
    for index, name in enumerate(_ERROR_HANDLERS):
        position = 4 + len(_MONITORING_TOOLS) + index
        if current[position] is not hooks[position]:
            _register_error(name, hooks[position])
    # atexit callbacks, decimal's shared contexts, the trace and profile functions: not put back here. If they
    # changed, the state does not verify and the interpreter is replaced.


def _reset():
    """Puts the recorded state back. True when it verifies afterwards: no object of the program survives, and
    the state programs use (every time) and the rest (when anything looked touched) match the record."""
    try:
        gc.disable()  # no collection, so no finalizer, between the collection below and the verdict
        gc.collect()  # the program's cycles and their finalizers, under the audit hook
        touched = bool(_violations) or _survivors() or _differs(_CORE)
        if touched:
            _restore(_CORE)
            _restore(_REST)
            gc.collect()
            if gc.get_freeze_count() < _CORE.freeze_count:
                gc.freeze()
            clean = not (_differs(_CORE) or _differs(_REST))
            # Objects still alive now sit where the record does not look (Pyodide's own per-call objects, C
            # caches) and the state verified in full: freeze them, so that the next call's check starts from
            # nothing alive again and takes the fast path.
            if clean:
                gc.freeze()
                _CORE.freeze_count = gc.get_freeze_count()
        else:
            clean = True
        if _CORE.gc_enabled:
            gc.enable()
        return clean
    except BaseException:
        return False


# --- running programs --------------------------------------------------------------------------------------

def _describe(error):
    try:
        if isinstance(error, PolicyViolation):
            return 'p' + str(error)
        if isinstance(error, KeyboardInterrupt):
            return 't' + 'the call was interrupted at its time limit'
        if isinstance(error, MemoryError):
            return 'm' + 'MemoryError'
        if isinstance(error, ImportError) and getattr(error, 'name', None) in ('js', 'pyodide', 'pyodide_js'):
            return 'p' + 'the host bridge is not available in the sandbox'
        message = str(error)
        name = type(error).__name__
        return 'x' + (f'{name}: {message}' if message else name)[:1000]
    except BaseException:
        return 'x' + 'an exception that could not be described'


def _arguments(args):
    """The code of an argument list: `args` read as the positional arguments of a call (`f(args)`, so a trailing
    comma and `*iterable` are read as a call reads them), evaluated to the tuple of their values. The tuple is
    built from the call's syntax tree, so that nothing of the harness is called or reachable while the
    arguments are evaluated."""
    tree = ast.parse(f'_({args}\n)', '<arguments>', mode='eval')
    call = tree.body
    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == '_'):
        raise SyntaxError('the arguments are not an argument list', ('<arguments>', 1, 1, None))
    if call.keywords:
        raise SyntaxError('keyword arguments are not supported', ('<arguments>', call.keywords[0].lineno, 1, None))
    # An assignment expression in the arguments would bind a name of the program's namespace before the call
    # (`(len := ...)` answering an abduction task for any program that uses len).
    for node in (node for argument in call.args for node in ast.walk(argument)):
        if isinstance(node, ast.NamedExpr):
            raise SyntaxError('assignment expressions are not allowed in arguments', ('<arguments>', node.lineno, 1, None))
    values = ast.copy_location(ast.Tuple(elts=call.args, ctx=ast.Load()), call)
    return compile(ast.fix_missing_locations(ast.Expression(body=values)), '<arguments>', 'eval', dont_inherit=True)


def _load(code, entry, args):
    try:
        program = compile(code, '<program>', 'exec', dont_inherit=True)
        arguments = _arguments(args)
    except SyntaxError as error:
        return 's' + f'SyntaxError: {error.msg} ({error.filename}, line {error.lineno})'
    except (ValueError, RecursionError, MemoryError) as error:
        return 's' + f'{type(error).__name__}: {error}'
    namespace = {'__builtins__': _program_builtins(), '__name__': '__azr_program__'}
    exec(program, namespace)
    function = namespace.get(entry)
    if function is None:
        raise NameError(f"name '{entry}' is not defined")
    return lambda: function(*eval(arguments, namespace))


def _perturb(round):
    """Another address layout for the same program: blocks of every small size class taken from the allocator,
    and a scrambled half of them given back, so that the program's objects land elsewhere and in another
    order (what id(), default hashes and reprs, and sets of objects reveal). Returns what it holds on to."""
    state = (round * 2654435761 + 12345) & 0xFFFFFFFF
    blocks = []
    for size in range(2, 520, 16):
        for _ in range(1 + (state >> (size % 20)) % 5):
            blocks.append(bytes(size))
    for _ in range(1 + state % 29):
        blocks.append(object())
        blocks.append([])
        blocks.append({})
    held = []
    for index in range(len(blocks)):
        state = (state * 1103515245 + 12345) & 0xFFFFFFFF
        if state & 0x10000:
            held.append(blocks[index])
        blocks[index] = None
        # Given back out of order: the allocator's free lists hand them out last freed, first used.
        if state & 0x20000 and held:
            held.pop(state % len(held))
    return held


def _call(code, entry, args, limits, calls, shadow):
    """Loads the program into fresh state and calls it once, or twice and compares."""
    held = _perturb(_counter[0]) if shadow else None
    _counter[0] += 1
    try:
        call = _load(code, entry, args)
        if isinstance(call, str):
            return call
        first = _encode(call(), limits)
        if calls == 1 or first[0] != 'o':
            return first
        second = _encode(call(), limits)
        if second == first or second[0] != 'o':
            return second
        return 'n' + first[1:] + '\0' + second[1:]
    except BaseException as error:
        return _describe(error)
    finally:
        del held


def _judged(code, entry, args, limits, calls, shadow):
    """One call in a copy of the start-up context (context variables, decimal's context among them), then the
    state verified; a call that reached past the sandbox is `policy`, whatever it returned."""
    del _violations[:]
    try:
        status = _BASE_CONTEXT.copy().run(_call, code, entry, args, limits, calls, shadow)
    except BaseException as error:  # an interrupt between the call's own handlers
        status = _describe(error)
    _clean[0] = _reset()
    if _violations:
        return _violation_status()
    return status


def run(code, entry, args, limits):
    return _judged(code, entry, args, limits, 1, False)


def validate(code, entry, args, limits):
    return _judged(code, entry, args, limits, 2, False)


def shadow(code, entry, args, limits):
    """One call in this interpreter (another hash seed) with another address layout: the second state of a
    validation."""
    return _judged(code, entry, args, limits, 1, True)


def clean():
    """Whether the state verified after the last call (False: replace this interpreter before the next)."""
    return _clean[0]


def lock():
    """Arms the audit hook for good, and freezes what the JavaScript side made since start-up. Called once,
    before the first program."""
    if not _locked:
        gc.collect()
        gc.freeze()
        _CORE.freeze_count = gc.get_freeze_count()
        _locked.append(True)


_counter = [0]
_clean = [True]


def _literal_value(node):
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
        # set(), frozenset(), float('nan'), float('inf'): the literals Python has no syntax for.
        if node.func.id in ('set', 'frozenset') and len(node.args) <= 1:
            inner = _literal_value(node.args[0]) if node.args else ()
            return set(inner) if node.func.id == 'set' else frozenset(inner)
        if node.func.id == 'float' and len(node.args) == 1 and isinstance(node.args[0], ast.Constant):
            text = node.args[0].value
            if isinstance(text, str) and text.strip().lower() in ('nan', 'inf', '-inf', '+inf', 'infinity', '-infinity'):
                return float(text)
        raise PolicyViolation('only value literals are accepted (no calls, names or operators)')
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub)) and isinstance(node.right, ast.Constant) and isinstance(node.right.value, complex):
        return ast.literal_eval(node)
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        items = [_literal_value(item) for item in node.elts]
        return items if isinstance(node, ast.List) else tuple(items) if isinstance(node, ast.Tuple) else set(items)
    if isinstance(node, ast.Dict):
        return {_literal_value(key): _literal_value(value) for key, value in zip(node.keys, node.values)}
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        operand = _literal_value(node.operand)
        if isinstance(operand, bool) or not isinstance(operand, (int, float, complex)):
            raise PolicyViolation('a sign applies only to numbers')
        return -operand if isinstance(node.op, ast.USub) else +operand
    if isinstance(node, ast.Constant):
        return node.value
    raise PolicyViolation('only value literals are accepted (no calls, names or operators)')


def literal(source, limits):
    try:
        try:
            tree = ast.parse(source.strip(), '<literal>', 'eval')
        except SyntaxError as error:
            return 's' + f'SyntaxError: {error.msg}'
        return _encode(_literal_value(tree.body), limits)
    except BaseException as error:
        return _describe(error)


# --- start-up ----------------------------------------------------------------------------------------------

from codecs import lookup_error as _lookup_error, register_error as _register_error  # noqa: E402
from types import SimpleNamespace  # noqa: E402


# Programs get no `js` module (its import is refused by the hook). Pyodide's own references to the bridge stay:
# the memory snapshot of this interpreter records them, and the thread's JavaScript realm is frozen.
for _name in ('js', 'pyodide_js'):
    sys.modules.pop(_name, None)

# Every allowed module is loaded now, and the harness used once, so that what they load lazily is loaded
# before the record is taken and before the hook refuses imports.
for _name in sorted(ALLOWED_MODULES):
    builtins.__import__(_name, None, None, ('__name__',), 0)
_warm_limits = {'maxDepth': 10, 'maxNodes': 100, 'maxLength': 1000}
_encode(_load('def f(a):\n    return [a, {2: (3,)}, {4}, 1.5, "x", None, True, 1j, b"", range(1)]', 'f', '1')(),
        _warm_limits)
_literal_value(ast.parse('[1, {"a": (2.5, None)}, set(), float("nan")]', '<literal>', 'eval').body)
_perturb(0)
# Module globals that the standard library fills on first use (collections' `heapq`, typing's annotationlib):
# filled now, before the record, or every program that uses them would look like it changed the module and
# send the check down its slow path (a full restore and verification, 25-40 ms) after each call.
sys.modules['collections'].Counter('ab').most_common(1)
getattr(sys.modules['typing']._lazy_annotationlib, 'ForwardRef', None)
del _name, _warm_limits

_BASE_CONTEXT = contextvars.copy_context()
sys.addaudithook(_hook)

# The JavaScript side takes these from __main__ and deletes them there (they are not part of the record).
_HANDOFF = '__azr_sandbox__'
sys.modules['__main__'].__dict__[_HANDOFF] = (run, validate, shadow, literal, clean, lock)
gc.collect()
_CORE_MODULES = _core_modules()
_CORE = _take_record(_CORE_MODULES, (_HANDOFF,))
_REST = _take_record(
    {name: module for name, module in list(sys.modules.items()) if module is not None and name not in _CORE_MODULES},
    (_HANDOFF,))
# Everything alive now is never collected: a collection after each call looks at the program's objects only.
gc.freeze()
_CORE.freeze_count = gc.get_freeze_count()
