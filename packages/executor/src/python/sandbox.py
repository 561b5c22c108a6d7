# The Python side of @azr/executor's Python executor, loaded once into each Pyodide interpreter.
#
# Every call returns one status string, the same protocol as the JavaScript sandbox:
#   o<canonical value>   n<first>\0<second> (nondeterministic)   r<message> (refused by the encoder)
#   x<message> (the program raised)   p<message> (policy)   s<message> (syntax)   t<message> (interrupted)
#
# Programs run with their own builtins: imports limited to an allow-list of pure modules, and no file, input,
# code-from-strings or introspection builtins. This is the first layer; the worker process beneath it has no
# file writes, no child processes and no native addons (Node's permission model), and is killed on a deadline.

import ast
import builtins
import math
import sys

ALLOWED_MODULES = frozenset({
    'abc', 'array', 'bisect', 'cmath', 'collections', 'collections.abc', 'copy', 'dataclasses', 'decimal',
    'enum', 'fractions', 'functools', 'heapq', 'itertools', 'json', 'keyword', 'math', 'numbers', 'operator',
    're', 'statistics', 'string', 'textwrap', 'typing', 'unicodedata',
})

# The reference implementation's banned words, kept for its error messages; the allow-list is the rule.
BANNED_WORDS = frozenset({
    'logging', 'random', 'multiprocessing', 'pebble', 'subprocess', 'threading', 'datetime', 'time', 'hashlib',
    'hmac', 'bcrypt', 'os', 'sys', 'calendar',
})

REMOVED_BUILTINS = frozenset({
    'open', 'input', 'exec', 'eval', 'compile', 'breakpoint', 'help', 'exit', 'quit', 'globals', 'locals',
    'vars', 'dir', 'memoryview', 'copyright', 'credits', 'license', '__loader__', '__spec__',
})

_real_import = builtins.__import__


class PolicyViolation(Exception):
    pass


def _guarded_import(name, globals=None, locals=None, fromlist=(), level=0):
    if level != 0:
        raise PolicyViolation('relative imports are not available in the sandbox')
    if name not in ALLOWED_MODULES:
        raise PolicyViolation(f'the module {name!r} is not available in the sandbox')
    return _real_import(name, None, None, fromlist, 0)


def _program_builtins():
    table = {key: value for key, value in vars(builtins).items() if key not in REMOVED_BUILTINS}
    table['__import__'] = _guarded_import
    return table


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


class _Encoder:
    def __init__(self, limits):
        self.max_depth = limits['maxDepth']
        self.max_nodes = limits['maxNodes']
        self.max_length = limits['maxLength']
        self.nodes = 0
        self.length = 0
        self.ancestors = set()

    def count(self, text):
        self.length += len(text)
        if self.length > self.max_length:
            raise Refused(f'the value is longer than {self.max_length} characters when encoded')
        return text

    def encode(self, value, depth=0):
        self.nodes += 1
        if self.nodes > self.max_nodes:
            raise Refused(f'the value has more than {self.max_nodes} parts')
        if value is None:
            return self.count('null')
        if value is True:
            return self.count('true')
        if value is False:
            return self.count('false')
        kind = type(value)
        if kind is int or (isinstance(value, int) and not isinstance(value, bool)):
            return self.count(str(int(value)))
        if isinstance(value, float):
            return self.count(_encode_float(float(value)))
        if isinstance(value, str):
            if len(value) > self.max_length:
                raise Refused(f'the value is longer than {self.max_length} characters when encoded')
            return self.count(_encode_string(value))
        if isinstance(value, complex):
            return self.count(f'Complex({_encode_float(value.real)},{_encode_float(value.imag)})')
        if isinstance(value, (bytes, bytearray)):
            if len(value) > self.max_nodes:
                raise Refused(f'the value has more than {self.max_nodes} parts')
            return self.count('Bytes[' + ','.join(str(byte) for byte in value) + ']')
        identity = id(value)
        if identity in self.ancestors:
            raise Refused('the value contains a reference to itself')
        if depth >= self.max_depth:
            raise Refused(f'the value is nested deeper than {self.max_depth} levels')
        self.ancestors.add(identity)
        try:
            return self.encode_container(value, depth + 1)
        finally:
            self.ancestors.discard(identity)

    def items(self, values, depth):
        parts = []
        for item in values:
            parts.append(self.encode(item, depth))
            self.length += 1
        return parts

    def encode_container(self, value, depth):
        if isinstance(value, list):
            return self.count('[]') and '[' + ','.join(self.items(value, depth)) + ']'
        if isinstance(value, tuple):
            return self.count('Tuple[]') and 'Tuple[' + ','.join(self.items(value, depth)) + ']'
        if isinstance(value, dict):
            entries = []
            for key, item in value.items():
                entries.append(self.encode(key, depth) + '=>' + self.encode(item, depth))
                self.length += 3
            return self.count('Map{}') and 'Map{' + ','.join(sorted(entries)) + '}'
        if isinstance(value, (set, frozenset)):
            members = sorted(set(self.items(value, depth)))
            return self.count('Set[]') and 'Set[' + ','.join(members) + ']'
        if isinstance(value, range):
            return self.count(f'Range({value.start},{value.stop},{value.step})')
        if isinstance(value, BaseException):
            message = str(value.args[0]) if len(value.args) == 1 else str(value)
            return self.count(f'Error({_encode_string(type(value).__name__)},{_encode_string(message)})')
        if callable(value) and hasattr(value, '__name__'):
            return self.count(f'Function({_encode_string(str(value.__name__))})')
        name = type(value).__name__
        if not name.isidentifier():
            name = 'Object'
        fields = getattr(value, '__dict__', None)
        if isinstance(fields, dict):
            properties = []
            for key in sorted(key for key in fields if isinstance(key, str)):
                properties.append(self.count(_encode_string(key)) + ':' + self.encode(fields[key], depth))
                self.length += 2
            return self.count(name + '{}') and name + '{' + ','.join(properties) + '}'
        # Values without fields (iterators, generators, modules): their type is all that is stable.
        return self.count(name + '{}')


def _encode(value, limits):
    try:
        return 'o' + _Encoder(limits).encode(value)
    except Refused as refusal:
        return 'r' + str(refusal)
    except RecursionError:
        return 'r' + 'the value is nested too deeply to encode'


# --- no state from one program to the next ----------------------------------------------------------
#
# Programs share the interpreter's modules. A program may legitimately write to an allowed module or to a
# class defined in one (math.pi = 3, Counter.seen = 1); that must not reach the next program, so after every
# call the attributes of every loaded module, and of the Python classes they define, are put back.

_PY_TPFLAGS_HEAPTYPE = 1 << 9


def _snapshot():
    modules = []
    for name, module in list(sys.modules.items()):
        if module is None or name == '__main__':
            continue
        namespace = getattr(module, '__dict__', None)
        if not isinstance(namespace, dict):
            continue
        classes = []
        for value in list(namespace.values()):
            if isinstance(value, type) and value.__flags__ & _PY_TPFLAGS_HEAPTYPE and value.__module__ == name:
                classes.append((value, dict(value.__dict__)))
        modules.append((module, namespace, dict(namespace), classes))
    return modules


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


def _restore(snapshot):
    # Dictionary equality runs in C and short-cuts on identity, so an untouched module costs little.
    for module, namespace, saved, classes in snapshot:
        if namespace != saved:
            namespace.clear()
            namespace.update(saved)
        for cls, class_saved in classes:
            if cls.__dict__ != class_saved:
                _restore_class(cls, class_saved)


# --- running programs --------------------------------------------------------------------------------

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


def _load(code, entry, args):
    try:
        program = compile(code, '<program>', 'exec', dont_inherit=True)
        arguments = compile(f'({args}\n,)' if args.strip() else '()', '<arguments>', 'eval', dont_inherit=True)
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


def _call(code, entry, args, limits, calls):
    """Loads the program into fresh state and calls it once, or twice and compares; then restores modules."""
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
        _restore(_SNAPSHOT)


def run(code, entry, args, limits):
    return _call(code, entry, args, limits, 1)


def validate(code, entry, args, limits):
    return _call(code, entry, args, limits, 2)


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


# The interpreter keeps only what the sandbox needs: no bridge to the host from program code.
for _name in ('js', 'pyodide_js'):
    sys.modules.pop(_name, None)

# Every allowed module is loaded now, so that the snapshot holds it before any program runs.
for _name in sorted(ALLOWED_MODULES):
    _real_import(_name, None, None, ('__name__',), 0)
_SNAPSHOT = _snapshot()
