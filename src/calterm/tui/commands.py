"""Every action of the app in one table: the command palette and the help screen read it, so an
action cannot exist without being findable (posting's lesson). The screens bind the same keys.
A screen without its own "Go to" entry (a screen added to the app later) still gets one in the
palette: :func:`screen_commands` fills the gaps from the app's list of screens."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Command:
    title: str
    help: str
    key: str
    mode: str | None  # the screen the action belongs to (None: anywhere)
    action: str  # a Textual action string; "screen." runs on the screen of ``mode``


COMMANDS: tuple[Command, ...] = (
    Command("Calibrate", "run the calibration with the current settings and show the results", "c", None,
            "app.calibrate"),
    Command("Go to calibration parameters", "image, detector, calibrant, wavelength, start values", "1", None,
            "app.switch('parameters')"),
    Command("Go to ring points", "image preview, cursor, control points", "2", None, "app.switch('points')"),
    Command("Go to refinement options", "fixed/free parameters, bounds, peak search", "3", None,
            "app.switch('refinement')"),
    Command("Go to jobs", "progress of the running job and past jobs", "4", None, "app.switch('jobs')"),
    Command("Go to results", "geometry, residuals, history, plots", "5", None, "app.switch('results')"),
    Command("Go to single ring", "circle fit through points of one ring", "6", None, "app.switch('circle')"),
    Command("Go to dark statistics", "average, std, max of a dark run", "7", None, "app.switch('dark')"),
    Command("Go to pixel mask", "mask from dark statistics: rules, counts, preview", "8", None, "app.switch('mask')"),
    Command("Go to panel alignment", "quadrant / panel shifts from powder rings", "9", None, "app.switch('align')"),
    Command("Go to gain map", "gain map from amorphous scattering at several positions", "0", None,
            "app.switch('gain')"),
    Command("Next screen", "the screen to the right in the tab bar (every screen, the ones past 0 too)",
            "ctrl+pagedown", None, "app.next_screen(1)"),
    Command("Previous screen", "the screen to the left in the tab bar", "ctrl+pageup", None,
            "app.next_screen(-1)"),
    Command("Go to joint calibration", "several images together: shared centre, linked distances, wavelength", "",
            None, "app.switch('joint')"),
    Command("Go to series", "a series or a watched folder recalibrated image after image: the drift table", "",
            None, "app.switch('series')"),
    Command("Cancel the running job", "stop the job at its next step", "esc", None, "app.cancel_job"),
    Command("Show keys", "every key of this screen and of the app", "? / f1", None, "app.help"),
    Command("Open image", "calibrate another image (keeps the other settings)", "ctrl+o", None, "app.open_image"),
    Command("Toggle units", "every screen in mm, mrad, ° and Å, or in PONI units (m, rad)", "u", None,
            "app.toggle_units"),
    Command("Choose output folder", "where PONI, CSV, masks, darks and gain maps are written (default: "
            "next to the image)", "", None, "app.output_folder"),
    Command("New demo session", "start over on the built-in LaB6 demo", "", None, "app.new_demo"),
    Command("Choose detector", "searchable list of pyFAI's detectors", "d", "parameters",
            "screen.choose_detector"),
    Command("Choose calibrant", "searchable list of calibrants (pyFAI and your files)", "l", "parameters",
            "screen.choose_calibrant"),
    Command("Add point at cursor", "single-peak search around the cursor, then add", "enter", "points",
            "screen.add_point"),
    Command("Add point exactly at cursor", "no peak search", "shift+enter / =", "points",
            "screen.add_point_exact"),
    Command("Search ring from cursor", "find the whole ring through the cursor (automatic peak search)", "a",
            "points", "screen.grow_ring"),
    Command("Toggle zoom", "magnify around the cursor; arrows then move one pixel", "z", "points",
            "screen.toggle_zoom"),
    Command("Next ring number", "the ring given to the next point", "+", "points", "screen.ring(1)"),
    Command("Previous ring number", "the ring given to the next point", "-", "points", "screen.ring(-1)"),
    Command("Toggle ring auto-increment", "next ring after each point", "i", "points",
            "screen.toggle_increment"),
    Command("Delete selected point", "remove the highlighted point", "delete", "points", "screen.delete_point"),
    Command("Clear all points", "remove every control point", "X", "points", "screen.clear_points"),
    Command("Save PONI", "write the calibration (versioned, never overwriting silently)", "s", "results",
            "screen.save_poni"),
    Command("Export history CSV", "write the optimization history as CSV", "e", "results",
            "screen.export_history"),
    Command("Delete point and refit", "drop the highlighted point and refit the geometry", "d", "results",
            "screen.delete_and_refit"),
    Command("Sort point residuals", "cycle the sort column of the point table", "o", "results",
            "screen.sort_points"),
    Command("Cycle plot view", "Plots tab: the next plot, full size ([ and ] step back and on)", "v", "results",
            "screen.plot_view"),
    Command("Compute dark statistics", "stream the frames into average/std/max (progress in frames/s)", "r",
            "dark", "screen.run"),
    Command("Write dark images", "write the average/std/max images whose paths are filled (versioned)", "w",
            "dark", "screen.write"),
    Command("Cycle dark preview", "show the average, std or max image", "v", "dark", "screen.cycle_preview"),
    Command("Rebuild mask", "apply the rules now (they also apply as you type)", "r", "mask", "screen.run"),
    Command("Write mask", "write the mask (1 = masked unless '1 = good'; versioned)", "w", "mask", "screen.write"),
    Command("Align panels", "find each panel's shift by rotational self-correlation", "r", "align", "screen.run"),
    Command("Write alignment", "write the corrected image and/or the offsets file (versioned)", "w", "align",
            "screen.write"),
    Command("Add gain position", "the Frames glob and Calibration fields as a new position", "a / enter", "gain",
            "screen.add_position"),
    Command("Remove gain position", "remove the highlighted position", "delete", "gain", "screen.remove_position"),
    Command("Compute gain map", "load the positions and compute the map", "r", "gain", "screen.run"),
    Command("Export gain map", "write NAME_DATE.tif, unfiltered, damaged mask, uncertainty, report", "w", "gain",
            "screen.write"),
    Command("Next gain tab", "Setup, Profiles, Map", "t", "gain", "screen.next_tab"),
    Command("Fit circle", "robust circle fit through the ring's points", "f", "circle", "screen.fit"),
    Command("Add circle point at cursor", "add the cursor position to the ring's points", "enter", "circle",
            "screen.add_point"),
    Command("Clear circle points", "remove every point of the single ring", "X", "circle",
            "screen.clear_points"),
    Command("Export circle history CSV", "write the circle fit's history as CSV", "e", "circle",
            "screen.export_history"),
    Command("Run joint calibration", "each image alone, then one fit over all points with the model", "r", "joint",
            "screen.run"),
    Command("Write joint PONIs", "one PONI per image next to the images (versioned)", "w", "joint", "screen.write"),
    Command("Pick parameter model", "Model tab: shared, per image, linked or fixed for the highlighted parameter",
            "enter / space", "joint", "screen.pick_mode"),
    Command("Remove joint image", "remove the highlighted image from the list", "delete", "joint",
            "screen.remove_image"),
    Command("Next joint tab", "Setup, Model, Results", "t", "joint", "screen.next_tab"),
    Command("Start series", "recalibrate each image from the previous geometry (esc stops, the table kept)", "r",
            "series", "screen.run"),
    Command("Toggle watched folder", "a glob of images, or a folder whose new images are taken as they land", "t",
            "series", "screen.toggle_watch"),
    Command("Drift table or plot", "show the drift table or the plot", "v", "series", "screen.next_tab"),
    Command("Next drift parameter", "plot distance, centre x/y, tilts or RMS against image number", "p", "series",
            "screen.next_parameter"),
    Command("Write drift table", "drift.csv next to the images (versioned)", "w", "series", "screen.write"),
    Command("Quit", "leave calterm (the session is saved; calterm --resume reopens it)", "ctrl+q", None,
            "app.quit"),
)


def screen_commands(modes: list[str], label) -> list[Command]:
    """A "Go to" command for every screen in ``modes`` that the table above does not name."""
    named = {c.action for c in COMMANDS}
    return [Command(f"Go to {label(mode)}", f"the {label(mode)} screen", "", None, f"app.switch('{mode}')")
            for mode in modes if f"app.switch('{mode}')" not in named]
