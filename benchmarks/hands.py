"""Benchmark: ``extract --hands`` (fingers) — speed, detection rate on real clips, and finger
accuracy against exact truth.

1. **Speed**: extraction of Sports2D's demo clip (1768x994, 30 fps, 230 frames) without and with
   ``--hands``, side by side: frames per second (wall clock and per CPU second, since the
   machine is shared), the stage breakdown and peak RSS. Targets: >= 30 frames/s without hands,
   >= 10 with.
2. **Detection rate** of each hand on real clips from PyPI wheels (the Sports2D demo: jumping
   jacks, small blurred hands; Pose2Sim's single-person demo), and how often MediaPipe's own
   left/right guess agreed with the body's wrists.
3. **Round trip with exact truth**: a body with its hands up, palms to the camera, closing and
   opening its fingers (known angles, ``pose/synthetic_hands.py``), rendered from the front by
   the project's renderer, extracted again with ``--hands``. Prints the finger joint angle errors
   (per joint kind), the flexion error and the hand orientation error, and writes a contact sheet
   (rendered hands with the fitted hand drawn over them) to ``benchmarks/results/hands_roundtrip.png``.

    python benchmarks/hands.py [--skip-speed] [--skip-roundtrip] [--frames 24] [--gaussians 60000]
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
RESULTS = Path(__file__).resolve().parent / "results"


def timed_extract(clip: Path, out: str, hands: bool, **kwargs) -> tuple[dict, float, float]:
    """(summary, wall seconds, CPU seconds of this process) of one extraction."""
    from random_people.pose.extract import extract_clip

    wall, cpu = time.perf_counter(), time.process_time()
    result = extract_clip(clip, out, make_preview=False, hands=hands, **kwargs)
    return result.summary, time.perf_counter() - wall, time.process_time() - cpu


def speed(args: argparse.Namespace) -> dict:
    from conftest import fetch_demo_clip

    clip = fetch_demo_clip()
    figures = {}
    with tempfile.TemporaryDirectory() as out:
        timed_extract(clip, out, False)  # warm-up (imports, MediaPipe graphs)
        for hands in (False, True):
            summary, wall, cpu = timed_extract(clip, out, hands)
            frames = summary["frames_processed"]
            figures["with_hands" if hands else "without_hands"] = {
                "frames": frames, "wall_s": round(wall, 2), "cpu_s": round(cpu, 2),
                "fps_wall": round(frames / wall, 1), "fps_per_cpu_s": round(frames / cpu, 1),
                "timings": summary["timings"], "hands": summary.get("hands"),
            }
    a, b = figures["without_hands"], figures["with_hands"]
    print(f"clip: {clip.name}, {a['frames']} frames decoded and detected")
    print(f"{'':16}{'frames/s (wall)':>17}{'frames per CPU s':>18}{'wall s':>9}{'CPU s':>8}")
    for name, row in (("without --hands", a), ("with --hands", b)):
        print(f"{name:16}{row['fps_wall']:>17.1f}{row['fps_per_cpu_s']:>18.1f}{row['wall_s']:>9.1f}{row['cpu_s']:>8.1f}")
    print(f"--hands costs x{b['wall_s'] / a['wall_s']:.2f} wall time; targets >= 30 frames/s without, >= 10 with")
    print("stage seconds with --hands: " + ", ".join(f"{k} {v:.2f}" for k, v in b["timings"].items()))
    return figures


def detection(args: argparse.Namespace) -> dict:
    from conftest import fetch_demo_clip, fetch_pose2sim_clip

    clips = {"sports2d_demo": (fetch_demo_clip(), {}),
             "pose2sim_single_cam04": (fetch_pose2sim_clip("Demo_SinglePerson", "cam04"), {})}
    figures = {}
    with tempfile.TemporaryDirectory() as out:
        for key, (clip, kwargs) in clips.items():
            summary, wall, _ = timed_extract(clip, out, True, **kwargs)
            hands = summary["hands"]
            figures[key] = {"frames": summary["frames"], **hands}
            print(f"{key}: {summary['frames']} frames; hands found (left/right) "
                  f"{100 * hands['detected_share']['left']:.0f}% / {100 * hands['detected_share']['right']:.0f}%, "
                  f"fitted {100 * hands['fitted_share']['left']:.0f}% / {100 * hands['fitted_share']['right']:.0f}% "
                  f"(short gaps bridged); MediaPipe's own handedness agreed with the body in "
                  f"{_pct(hands['mediapipe_handedness_agrees']['left'])} / "
                  f"{_pct(hands['mediapipe_handedness_agrees']['right'])} of found frames; "
                  f"depth-mirrored detections repaired {hands['depth_mirrored_frames']}")
    return figures


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.0f}%"


def roundtrip(args: argparse.Namespace) -> dict:
    from scipy.spatial.transform import Rotation

    from random_people.avatar.pipeline import render_motion_clip
    from random_people.avatar.sampler import sample_identities
    from random_people.body import load_body_model
    from random_people.pose.extract import extract_clip
    from random_people.pose.fingers import FINGERS, HandRig, joint_angles, posed_world_rotation, rotation_angle_degrees
    from random_people.pose.hands import HANDS
    from random_people.pose.synthetic_hands import hands_up_motion

    model = load_body_model(kind="anny")
    T = args.frames
    curls = 45.0 - 45.0 * np.cos(np.linspace(0.0, 2.0 * np.pi, T))  # open -> closed (90 degrees) -> open
    size = (540, 960)
    truth = hands_up_motion(model, curls, image_size=size, focal=1100.0 * size[0] / 720, distance=2.2)
    specs = sample_identities(args.people, args.seed)
    records, sheets = [], []
    with tempfile.TemporaryDirectory() as work:
        for i, spec in enumerate(specs):
            started = time.perf_counter()
            rendered = render_motion_clip(truth, spec, work, name=f"hands_{i}", background="#8a9bb0", size=size,
                                          n_gaussians=args.gaussians, shadow=False, harmonize=0.0)
            render_s = time.perf_counter() - started
            fitted = extract_clip(rendered.video_path, work, name=f"fit_{i}", make_preview=False, hands=True).motion
            records.append(_score(truth, fitted, model, HandRig, joint_angles, rotation_angle_degrees, FINGERS, HANDS,
                                  Rotation))
            records[-1]["render_s"] = round(render_s, 1)
            records[-1]["identity"] = spec.id
            sheets.append(_sheet(rendered.video_path, fitted, truth))
    RESULTS.mkdir(exist_ok=True)
    if sheets:
        import cv2

        cv2.imwrite(str(RESULTS / "hands_roundtrip.png"), cv2.cvtColor(np.concatenate(sheets, 0), cv2.COLOR_RGB2BGR))
    for r in records:
        print(f"identity {r['identity'][:10]}: hands fitted in {100 * r['fitted_share']:.0f}% of frames; "
              f"joint angle error median {r['joint_error_median']:.1f} deg (MCP {r['by_joint']['MCP']:.1f}, "
              f"PIP {r['by_joint']['PIP']:.1f}, DIP {r['by_joint']['DIP']:.1f}, thumb {r['by_joint']['thumb']:.1f}); "
              f"curl (mean flexion of the four fingers' joints) error median {r['curl_error_median']:.1f} deg; "
              f"hand orientation error median {r['hand_orientation_error_median']:.1f} deg; render {r['render_s']} s")
    print(f"contact sheet: {RESULTS / 'hands_roundtrip.png'} (rendered hands; red: MediaPipe, green: fitted)")
    return {"frames": T, "size": size, "gaussians": args.gaussians, "people": records}


def _score(truth, fitted, model, HandRig, joint_angles, rotation_angle_degrees, FINGERS, HANDS, Rotation) -> dict:
    """Finger joint errors of ``fitted`` against ``truth`` over frames where a hand was fitted."""
    T, B = truth.local_rotations.shape[:2]
    n = min(T, fitted.num_frames)
    offset = int(round(fitted.frame_times[0] * truth.fps))  # the extraction keeps the frames it found a person in
    as_matrix = lambda m, rows: Rotation.from_rotvec(m.local_rotations[rows].reshape(-1, 3)).as_matrix().reshape(
        len(rows), B, 3, 3)
    rows_fit = np.arange(n)
    rows_true = np.clip(rows_fit + offset, 0, T - 1)
    true_local, fit_local = as_matrix(truth, rows_true), as_matrix(fitted, rows_fit)
    names = list(truth.bone_names)
    rest = truth.rest_joints.astype(np.float64)
    errors = {"MCP": [], "PIP": [], "DIP": [], "thumb": []}
    curl_errors, orientation = [], []
    fitted_any = []
    root_true = Rotation.from_rotvec(truth.root_rotation[rows_true]).as_matrix()
    root_fit = Rotation.from_rotvec(fitted.root_rotation[rows_fit]).as_matrix()
    parents = np.asarray(truth.bone_parents)
    for h, side in enumerate(HANDS):
        rig = HandRig(names, rest, side)
        ok = ~(fitted.quality_flags[rows_fit] & (16 if h == 0 else 32)).astype(bool)
        fitted_any.append(ok)
        if not ok.any():
            continue
        flex_true, flex_fit = [], []
        for finger in FINGERS:
            for j, (bone, frame) in enumerate(zip(rig.chains[finger], rig.frames[finger])):
                err = rotation_angle_degrees(np.swapaxes(true_local[ok, bone], -1, -2) @ fit_local[ok, bone])
                errors["thumb" if finger == "thumb" else ("MCP", "PIP", "DIP")[j]].extend(err.tolist())
                if finger != "thumb":
                    flex_true.append(joint_angles(true_local[ok, bone] @ frame.along, frame)[0])
                    flex_fit.append(joint_angles(fit_local[ok, bone] @ frame.along, frame)[0])
        curl_errors.extend(np.degrees(np.abs(np.mean(flex_fit, 0) - np.mean(flex_true, 0))).tolist())
        world_true = posed_world_rotation(rig.wrist, parents, root_true, true_local)
        world_fit = posed_world_rotation(rig.wrist, parents, root_fit, fit_local)
        orientation.extend(rotation_angle_degrees(np.swapaxes(world_true[ok], -1, -2) @ world_fit[ok]).tolist())
    every = [e for v in errors.values() for e in v]
    return {
        "fitted_share": float(np.mean(np.concatenate(fitted_any))),
        "joint_error_median": float(np.median(every)) if every else float("nan"),
        "joint_error_p90": float(np.percentile(every, 90)) if every else float("nan"),
        "by_joint": {k: float(np.median(v)) if v else float("nan") for k, v in errors.items()},
        "curl_error_median": float(np.median(curl_errors)) if curl_errors else float("nan"),
        "hand_orientation_error_median": float(np.median(orientation)) if orientation else float("nan"),
    }


def _sheet(video: Path, fitted, truth) -> np.ndarray:
    """One row: both hands of four frames, MediaPipe's landmarks (red) and the fitted hand (green)."""
    import av
    import cv2

    from random_people.pose.fingers import FINGER_LANDMARKS, hand_bone_names

    with av.open(str(video)) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    names = list(fitted.bone_names)
    K = fitted.camera_intrinsics
    tiles = []
    for t in np.linspace(0, fitted.num_frames - 1, 4).astype(int):
        image = frames[min(int(round(fitted.frame_times[t] * truth.fps)), len(frames) - 1)]
        for h, side in enumerate(("left", "right")):
            projected = fitted.joints_3d[t] @ K.T
            points = projected[:, :2] / projected[:, 2:3]
            bones = hand_bone_names(names, side)
            centre = points[names.index(bones["wrist"])]
            half = 70
            x0, y0 = int(centre[0]) - half, int(centre[1]) - 2 * half + 20
            tile = np.zeros((2 * half, 2 * half, 3), np.uint8)
            src = image[max(0, y0):y0 + 2 * half, max(0, x0):x0 + 2 * half]
            tile[:src.shape[0], :src.shape[1]] = src
            tile = cv2.resize(tile, None, fx=2, fy=2, interpolation=cv2.INTER_LINEAR)
            shift = np.array([x0, y0])
            if fitted.hand_detected[t, h]:
                red = (fitted.hand_landmarks_2d[t, h] - shift) * 2
                for marks in FINGER_LANDMARKS.values():
                    line = [red[0]] + [red[i] for i in marks]
                    for a, b in zip(line[:-1], line[1:]):
                        cv2.line(tile, tuple(int(v) for v in a), tuple(int(v) for v in b), (255, 0, 0), 1)
            for finger in ("thumb", "index", "middle", "ring", "pinky"):
                line = [points[names.index(bones["wrist"])]] + [points[names.index(n)] for n in bones[finger]]
                line = [(p - shift) * 2 for p in line]
                for a, b in zip(line[:-1], line[1:]):
                    cv2.line(tile, tuple(int(v) for v in a), tuple(int(v) for v in b), (0, 255, 0), 1)
            tiles.append(tile)
    return np.concatenate(tiles, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--skip-detection", action="store_true")
    parser.add_argument("--skip-roundtrip", action="store_true")
    parser.add_argument("--frames", type=int, default=24, help="frames of the round-trip motion")
    parser.add_argument("--people", type=int, default=1, help="rendered identities in the round trip")
    parser.add_argument("--gaussians", type=int, default=60000, help="Gaussians per avatar in the round trip")
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--json", type=Path, default=RESULTS / "hands.json")
    args = parser.parse_args()
    import logging

    logging.basicConfig(level=logging.WARNING)
    results = {}
    if not args.skip_speed:
        results["speed"] = speed(args)
    if not args.skip_detection:
        results["detection"] = detection(args)
    if not args.skip_roundtrip:
        results["roundtrip"] = roundtrip(args)
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    args.json.parent.mkdir(exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2, default=float))
    print(f"figures: {args.json}")


if __name__ == "__main__":
    main()
